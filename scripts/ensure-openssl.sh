#!/usr/bin/env bash
# Makes sure the openssl command is available (idempotent): the lab makes its test CA and server
# certificates with it, and some tests build certificates and check MD4/RC4 against it. Installs it
# with apt-get when run as root; otherwise says what is missing and fails.
set -euo pipefail
. "$(dirname "$0")/lib/apt.sh"
if ! command -v openssl >/dev/null 2>&1; then
  apt_install openssl openssl
fi
echo "openssl: $(openssl version)" >&2
