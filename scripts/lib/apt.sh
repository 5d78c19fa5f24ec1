# Shared by scripts/ensure-*.sh (source it): installs Debian packages with apt-get, idempotently.
#   apt_install "<label>" pkg...   installs the packages of the list that are not installed yet;
#                                  runs `apt-get update` first only when the package lists are
#                                  missing (a fresh container); exits 1 with what to run when it
#                                  cannot install (not root, or no apt-get).
# APT_LISTS_DIR overrides /var/lib/apt/lists (for the helper's own test).

apt_missing() {
  local p out=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || out+=("$p")
  done
  echo "${out[*]:-}"
}

apt_install() {
  local label=$1
  shift
  local todo
  todo=$(apt_missing "$@")
  [ -z "$todo" ] && return 0
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "$label: missing Debian packages $todo, and there is no apt-get here: install them with your package manager" >&2
    exit 1
  fi
  if [ "$(id -u)" != 0 ]; then
    echo "$label: missing Debian packages $todo; as root run: bash $0 (or apt-get install -y $todo)" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  local lists=${APT_LISTS_DIR:-/var/lib/apt/lists}
  if ! compgen -G "$lists/*_Packages*" >/dev/null; then
    echo "$label: no package lists yet: apt-get update..." >&2
    apt-get update -qq >&2
  fi
  echo "$label: installing $todo..." >&2
  # shellcheck disable=SC2086 # one word per package
  apt-get install -y -qq --no-install-recommends $todo >&2
}

#   apt_ensure "<label>" <check> pkg...   <check> is a function that prints what is missing (empty
#                                          when nothing is); installs the packages when something is,
#                                          and exits 1 if something is still missing afterwards.
apt_ensure() {
  local label=$1 check=$2
  shift 2
  local gaps
  gaps=$($check)
  [ -z "$gaps" ] && return 0
  echo "$label: missing $gaps" >&2
  apt_install "$label" "$@"
  gaps=$($check)
  if [ -n "$gaps" ]; then
    echo "$label: still missing $gaps after installing the Debian packages $*" >&2
    exit 1
  fi
}
