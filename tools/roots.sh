#!/usr/bin/env bash
# Clean Debian roots for the package tests, made with debootstrap once and
# cached in .vm-cache/roots/ (prints nothing when they are there):
#
#   clean-SUITE            debootstrap --variant=minbase SUITE: what a user's
#                          minimal system has, nothing of pmemctl's
#   dkms-SUITE KVER        clean-SUITE plus dkms and the headers of KVER (the
#                          guest kernel the built module is loaded into)
#   systemd-SUITE          clean-SUITE plus systemd and man-db, for checking the
#                          package's units with systemd-analyze verify
#
# usage: roots.sh clean SUITE | roots.sh dkms SUITE KVER | roots.sh systemd SUITE
# Needs root (debootstrap, chroot) and Debian's archive.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cache=$root/.vm-cache/roots
mirror=${PMEMCTL_DEBIAN_MIRROR:-http://deb.debian.org/debian}
security=${PMEMCTL_DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
say() { echo "roots: $*" >&2; }

# in_root DIR CMD...: runs CMD chrooted in DIR with /proc and /dev, in a
# private mount namespace (nothing stays mounted).
in_root() {
  local dir=$1; shift
  unshare --mount --fork sh -c '
    dir=$1; shift
    mount -t proc proc "$dir/proc" && mount --rbind /dev "$dir/dev" &&
      exec chroot "$dir" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
        DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8 "$@"' sh "$dir" "$@"
}

clean() {
  local suite=$1 dir=$cache/clean-$1
  [ -e "$dir/.complete" ] && return
  command -v debootstrap >/dev/null || { say "debootstrap is missing (apt-get install debootstrap)"; exit 3; }
  say "creating $dir with debootstrap (once)"
  rm -rf "$dir.partial"
  mkdir -p "$cache"
  if ! debootstrap --variant=minbase "$suite" "$dir.partial" "$mirror" >"$dir.log" 2>&1; then
    say "debootstrap of $suite from $mirror failed (has the archive dropped $suite?): $(grep -v '^\s*$' "$dir.log" | tail -1) (log: $dir.log)"
    exit 3
  fi
  # The sources a real system has: its kernels come from -security too.
  cat >"$dir.partial/etc/apt/sources.list" <<SOURCES
deb $mirror $suite main
deb $mirror $suite-updates main
deb ${security} $suite-security main
SOURCES
  in_root "$dir.partial" apt-get clean
  touch "$dir.partial/.complete"
  rm -rf "$dir" && mv "$dir.partial" "$dir"
}

dkms() {
  local suite=$1 kver=$2 dir=$cache/dkms-$1
  [ -e "$dir/.complete" ] && [ "$(cat "$dir/.complete")" = "$kver" ] && return
  clean "$suite"
  say "creating $dir: dkms and linux-headers-$kver (once)"
  rm -rf "$dir.partial"
  cp -a "$cache/clean-$suite" "$dir.partial"
  rm -f "$dir.partial/.complete"
  cp /etc/resolv.conf "$dir.partial/etc/resolv.conf"
  in_root "$dir.partial" apt-get update -qq >&2
  in_root "$dir.partial" apt-get install -y -qq --no-install-recommends \
    dkms "linux-headers-$kver" >&2
  in_root "$dir.partial" apt-get clean
  echo "$kver" >"$dir.partial/.complete"
  rm -rf "$dir" && mv "$dir.partial" "$dir"
}

with_systemd() {
  local suite=$1 dir=$cache/systemd-$1
  [ -e "$dir/.complete" ] && return
  clean "$suite"
  say "creating $dir: systemd and man-db (once)"
  rm -rf "$dir.partial"
  cp -a "$cache/clean-$suite" "$dir.partial"
  rm -f "$dir.partial/.complete"
  cp /etc/resolv.conf "$dir.partial/etc/resolv.conf"
  in_root "$dir.partial" apt-get update -qq >&2
  in_root "$dir.partial" apt-get install -y -qq --no-install-recommends \
    systemd man-db >&2
  in_root "$dir.partial" apt-get clean
  touch "$dir.partial/.complete"
  rm -rf "$dir" && mv "$dir.partial" "$dir"
}

case ${1:-} in
  clean) clean "${2:?suite}" ;;
  dkms) dkms "${2:?suite}" "${3:?kernel version}" ;;
  systemd) with_systemd "${2:?suite}" ;;
  in) shift; in_root "$@" ;;
  *) echo "usage: roots.sh clean SUITE | dkms SUITE KVER | systemd SUITE | in DIR CMD..." >&2; exit 2 ;;
esac
