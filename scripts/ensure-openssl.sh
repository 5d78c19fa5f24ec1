#!/usr/bin/env bash
# Makes sure the openssl command is available (idempotent): the lab makes its test CA and server
# certificates with it, and some tests build certificates and check MD4/RC4 against it. Installs it
# with apt-get when run as root; otherwise says what is missing and fails.
set -euo pipefail
if ! command -v openssl >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "openssl: installing..." >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq --no-install-recommends openssl >&2
  else
    echo "openssl is missing: install it (Debian: apt-get install openssl)" >&2
    exit 1
  fi
fi
echo "openssl: $(openssl version)" >&2
