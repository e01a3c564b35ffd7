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
#   disk-SUITE/            a bootable disk (disk.qcow2) for the fleet tests: one
#                          ext4 partition with clean-SUITE plus Debian's kernel,
#                          GRUB in the MBR, systemd, openssh-server (root logs
#                          in with the key beside it, id_ed25519), python3,
#                          python3-apt and ndctl; DHCP on the first NIC; the
#                          serial console; guests boot copy-on-write overlays
#
# usage: roots.sh clean SUITE | dkms SUITE KVER | systemd SUITE | disk SUITE
# Needs root (debootstrap, chroot) and Debian's archive.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cache=$root/.vm-cache/roots
mirror=${PMEMCTL_DEBIAN_MIRROR:-http://deb.debian.org/debian}
security=${PMEMCTL_DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
say() { echo "roots: $*" >&2; }
# One maker at a time: test files run in parallel, and two of them may ask
# for the same root (the package tests and the fleet test both need
# clean-bookworm). Commands in scratch copies (in) need no lock.
lock() { mkdir -p "$cache"; exec 9>"$cache/.lock"; flock 9; }

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

# derived NAME SUITE STAMP PACKAGE...: NAME-SUITE is clean-SUITE plus
# PACKAGEs, made once; its .complete holds STAMP, and another STAMP remakes it.
derived() {
  local name=$1 suite=$2 stamp=$3 dir=$cache/$1-$2
  shift 3
  [ -e "$dir/.complete" ] && [ "$(cat "$dir/.complete")" = "$stamp" ] && return
  clean "$suite"
  say "creating $dir: $* (once)"
  rm -rf "$dir.partial"
  cp -a "$cache/clean-$suite" "$dir.partial"
  rm -f "$dir.partial/.complete"
  cp /etc/resolv.conf "$dir.partial/etc/resolv.conf"
  in_root "$dir.partial" apt-get update -qq >&2
  in_root "$dir.partial" apt-get install -y -qq --no-install-recommends "$@" >&2
  in_root "$dir.partial" apt-get clean
  echo "$stamp" >"$dir.partial/.complete"
  rm -rf "$dir" && mv "$dir.partial" "$dir"
}

dkms() { derived dkms "$1" "$2" dkms "linux-headers-$2"; }

with_systemd() { derived systemd "$1" systemd systemd man-db; }

# disk SUITE: see above. Built in a loop-mounted image so that grub-install
# and update-grub see a real disk; the root= they write names the loop
# partition, which becomes the filesystem's UUID.
disk() {
  local suite=$1 dir=$cache/disk-$1
  [ -e "$dir/.complete" ] && return
  clean "$suite"
  for tool in qemu-img sfdisk losetup mkfs.ext4 ssh-keygen; do
    command -v $tool >/dev/null || { say "$tool is missing (see tools/setup.sh)"; exit 3; }
  done
  say "creating $dir: a GRUB-booted $suite disk with ssh and python3 (once)"
  rm -rf "$dir.partial"
  mkdir -p "$dir.partial/mnt"
  local img=$dir.partial/disk.raw mnt=$dir.partial/mnt loop
  truncate -s 3G "$img"
  echo 'start=2048, type=83, bootable' | sfdisk -q "$img"
  loop=$(losetup -Pf --show "$img")
  # shellcheck disable=SC2064
  trap "umount -R '$mnt' 2>/dev/null; losetup -d $loop 2>/dev/null" EXIT
  # Without udev the partition's node may come late: ask for it.
  for _ in 1 2 3 4 5 6 7 8 9 10; do
    [ -b "${loop}p1" ] && break
    partx -u "$loop" 2>/dev/null || true
    sleep 0.3
  done
  mkfs.ext4 -q -L pmemctl-root "${loop}p1"
  mount "${loop}p1" "$mnt"
  cp -a "$cache/clean-$suite/." "$mnt/"
  rm -f "$mnt/.complete"
  cp /etc/resolv.conf "$mnt/etc/resolv.conf"
  local uuid
  uuid=$(blkid -s UUID -o value "${loop}p1")
  echo "UUID=$uuid / ext4 errors=remount-ro 0 1" >"$mnt/etc/fstab"
  echo pmemctl-guest >"$mnt/etc/hostname"
  mkdir -p "$mnt/etc/default/grub.d" "$mnt/etc/systemd/network" "$mnt/root/.ssh"
  cat >"$mnt/etc/default/grub.d/serial.cfg" <<'GRUB'
GRUB_TIMEOUT=0
GRUB_TERMINAL=serial
GRUB_SERIAL_COMMAND="serial --unit=0 --speed=115200"
GRUB_CMDLINE_LINUX_DEFAULT="console=ttyS0,115200"
GRUB
  printf '[Match]\nName=en*\n\n[Network]\nDHCP=yes\n' >"$mnt/etc/systemd/network/10-wired.network"
  ssh-keygen -q -t ed25519 -N '' -C pmemctl-fleet-test -f "$dir.partial/id_ed25519"
  cp "$dir.partial/id_ed25519.pub" "$mnt/root/.ssh/authorized_keys"
  chmod 700 "$mnt/root/.ssh"
  unshare --mount --fork sh -ec '
    mnt=$1 loop=$2
    mount -t proc proc "$mnt/proc"; mount -t sysfs sys "$mnt/sys"; mount --rbind /dev "$mnt/dev"
    run() { chroot "$mnt" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
      DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8 "$@"; }
    run apt-get update -qq
    run apt-get install -y -qq --no-install-recommends linux-image-amd64 \
      grub-pc systemd-sysv udev dbus openssh-server python3 python3-apt ndctl libpmem1 \
      e2fsprogs iproute2 kmod >/dev/null
    run systemctl enable systemd-networkd >/dev/null 2>&1
    echo "(hd0) $loop" >"$mnt/boot/grub/device.map"
    run grub-install --target=i386-pc "$loop" 2>&1
    rm "$mnt/boot/grub/device.map"
    run update-grub 2>&1
    run apt-get clean' sh "$mnt" "$loop" >&2
  sed -i "s|root=${loop}p1|root=UUID=$uuid|g" "$mnt/boot/grub/grub.cfg"
  grep -q "root=UUID=$uuid" "$mnt/boot/grub/grub.cfg" || { say "grub.cfg has no root=UUID=$uuid"; exit 3; }
  rm -f "$mnt/etc/resolv.conf"
  umount "$mnt"
  losetup -d "$loop"
  trap - EXIT
  qemu-img convert -O qcow2 "$img" "$dir.partial/disk.qcow2"
  rm -rf "$img" "$mnt"
  touch "$dir.partial/.complete"
  rm -rf "$dir" && mv "$dir.partial" "$dir"
}

case ${1:-} in
  clean) lock; clean "${2:?suite}" ;;
  dkms) lock; dkms "${2:?suite}" "${3:?kernel version}" ;;
  systemd) lock; with_systemd "${2:?suite}" ;;
  disk) lock; disk "${2:?suite}" ;;
  in) shift; in_root "$@" ;;
  *) echo "usage: roots.sh clean SUITE | dkms SUITE KVER | systemd SUITE | disk SUITE | in DIR CMD..." >&2; exit 2 ;;
esac
