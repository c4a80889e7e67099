# shellcheck shell=bash
# Debian package helpers for the scripts that install what they need
# (sourced, not run).

# missing_packages PACKAGE[:ARCH]...: sets the array `missing` to the packages
# that are not installed for ARCH (default: this machine's). With another
# architecture's copy installed through multiarch, dpkg-query lists both.
missing_packages() {
  missing=()
  local p arch status native
  native=$(dpkg --print-architecture)
  for p in "$@"; do
    arch=$native
    [[ $p == *:* ]] && arch=${p#*:}
    status=$(dpkg-query -W -f='${Architecture} ${Status}\n' "$p" 2>/dev/null || true)
    grep -qxE "($arch|all) install ok installed" <<<"$status" || missing+=("$p")
  done
}

# apt_update: apt-get update, once per run of the sourcing script.
apt_updated=0
apt_update() {
  if [ "$apt_updated" -eq 0 ]; then
    apt-get update -q
    apt_updated=1
  fi
}

# install_missing WHO PACKAGE...: installs the packages that are not installed
# (as root), or fails naming them; WHO prefixes the messages.
install_missing() {
  local who=$1
  shift
  missing_packages "$@"
  if [ ${#missing[@]} -eq 0 ]; then
    return 0
  fi
  if [ "$(id -u)" -ne 0 ]; then
    echo "$who: these packages are missing, and installing them needs root: ${missing[*]}" >&2
    exit 1
  fi
  echo "$who: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt_update
  apt-get install -y -q --no-install-recommends "${missing[@]}"
}
