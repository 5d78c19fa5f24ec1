#!/usr/bin/env bash
# Makes sure the GSS lab's tools are installed (idempotent): MIT Kerberos KDC + admin tools + client
# tools, gss-ntlmssp, Debian's python3-gssapi (for lab/gss-acceptor.py) and libkrb5-dev (headers the
# optional `kerberos` npm package builds against during npm ci), and faketime (a KDC with a shifted
# clock, for the clock-skew test). Installs them with apt-get when run as root; otherwise says what
# is missing and fails.
set -euo pipefail
. "$(dirname "$0")/lib/apt.sh"
PACKAGES="krb5-kdc krb5-admin-server krb5-user gss-ntlmssp python3-gssapi libkrb5-dev faketime"
have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ -x "/sbin/$1" ]; }
missing() {
  local m=()
  have krb5kdc || m+=(krb5kdc)
  have kadmin.local || m+=(kadmin.local)
  have kdb5_util || m+=(kdb5_util)
  have kinit || m+=(kinit)
  have faketime || m+=(faketime)
  [ -e /usr/lib/x86_64-linux-gnu/gssntlmssp/gssntlmssp.so ] || [ -e /usr/lib/aarch64-linux-gnu/gssntlmssp/gssntlmssp.so ] || m+=(gssntlmssp.so)
  /usr/bin/python3 -c 'import gssapi' >/dev/null 2>&1 || m+=(python3-gssapi)
  [ -e /usr/include/gssapi/gssapi.h ] || m+=(libkrb5-dev)
  echo "${m[*]:-}"
}
# shellcheck disable=SC2086 # one word per package
apt_ensure "GSS lab" missing $PACKAGES
echo "gss: krb5kdc, kadmin.local, kinit, faketime, gss-ntlmssp, python3-gssapi, libkrb5-dev present" >&2
