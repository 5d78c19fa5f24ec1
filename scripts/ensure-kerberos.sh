#!/usr/bin/env bash
# Makes sure the optional `kerberos` npm package (the system GSSAPI binding behind Kerberos and
# Negotiate) is installed and loads (idempotent). `npm ci` skips it silently when MIT Kerberos's
# headers are missing, and then removes it from node_modules altogether; `npm test` runs this after
# scripts/ensure-gss.sh has installed libkrb5-dev, so the binding is built here, at the version
# package-lock.json pins. Building needs a C++ compiler, make and python3 (node-gyp); installs them
# with apt-get when run as root, otherwise says what is missing and fails.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/apt.sh
loads() { node -e "require('kerberos')" >/dev/null 2>&1; }
if loads; then
  echo "kerberos: $(node -p "require('kerberos/package.json').version") loads" >&2
  exit 0
fi
version=$(node -p "(require('./package-lock.json').packages['node_modules/kerberos'] || {}).version || ''")
if [ -z "$version" ]; then
  echo "kerberos: package-lock.json pins no version of the optional kerberos package" >&2
  exit 1
fi
if [ ! -e /usr/include/gssapi/gssapi.h ]; then
  echo "kerberos: MIT Kerberos headers missing (libkrb5-dev); as root: bash scripts/ensure-gss.sh" >&2
  exit 1
fi
tools_missing() {
  local m=()
  command -v g++ >/dev/null 2>&1 || m+=(g++)
  command -v make >/dev/null 2>&1 || m+=(make)
  command -v python3 >/dev/null 2>&1 || m+=(python3)
  echo "${m[*]:-}"
}
gaps=$(tools_missing)
if [ -n "$gaps" ]; then
  echo "kerberos: building the binding needs $gaps" >&2
  apt_install kerberos g++ make python3
  gaps=$(tools_missing)
fi
if [ -n "$gaps" ]; then
  echo "kerberos: cannot build the binding, missing $gaps (Debian: apt-get install g++ make python3)" >&2
  exit 1
fi
if [ -d node_modules/kerberos ]; then
  # Present but not built (install scripts skipped, or headers added later): build it in place.
  echo "kerberos: building the installed kerberos@$(node -p "require('kerberos/package.json').version")..." >&2
  npm rebuild kerberos --foreground-scripts >&2
else
  # npm ci dropped it (a failed optional dependency is removed): install the locked version.
  echo "kerberos: installing kerberos@$version (package-lock.json) now that the headers exist..." >&2
  npm install --no-save --no-audit --no-fund --ignore-scripts=false "kerberos@$version" >&2
fi
if ! loads; then
  echo "kerberos: the kerberos package still does not load:" >&2
  node -e "require('kerberos')" >&2 || true
  exit 1
fi
echo "kerberos: $(node -p "require('kerberos/package.json').version") built and loads" >&2
