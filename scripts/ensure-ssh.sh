#!/usr/bin/env bash
# Makes sure the SSH and proxy test peers are installed (idempotent): Debian's openssh-server (a
# private sshd on a loopback port serves PowerShell's `powershell` SSH subsystem to the SSH tests;
# src/lab/test-sshd.ts) and tinyproxy (the HTTP CONNECT proxy of the proxy tests; the system
# services are not used or started). Installs them with apt-get when run as root; otherwise says
# what is missing and fails.
set -euo pipefail
. "$(dirname "$0")/lib/apt.sh"
PACKAGES="openssh-server openssh-client tinyproxy"
have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ -x "/sbin/$1" ]; }
missing() {
  local m=()
  have sshd || m+=(sshd)
  have ssh-keygen || m+=(ssh-keygen)
  have tinyproxy || m+=(tinyproxy)
  echo "${m[*]:-}"
}
# shellcheck disable=SC2086 # one word per package
apt_ensure "SSH/proxy peers" missing $PACKAGES
echo "ssh: sshd, ssh-keygen, tinyproxy present" >&2
