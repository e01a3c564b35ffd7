#!/usr/bin/env bash
# Builds the base initramfs of the pmem test guests for one kernel version:
# busybox, the kernel's pmem/DAX/ext4 modules (with a modules.dep of their
# own), deno with its glibc, and the peer tools (ndctl, daxctl, daxio,
# pmempool, fio, mke2fs). The project tree and the run's script come in a
# second, small archive appended per boot (see vm.ts).
#
# usage: build-base.sh KVER OUT.cpio
# env:   MODULES_BASE (the directory holding lib/modules/KVER), KERNEL_CONFIG
#        (the kernel's config file: every guest has it, as /boot/config-KVER),
#        DENO_BIN
set -euo pipefail

kver=${1:?usage: build-base.sh KVER OUT.cpio}
out=${2:?usage: build-base.sh KVER OUT.cpio}
here=$(cd "$(dirname "$0")" && pwd)

# MODULES_BASE holds lib/modules/KVER: / for the host's kernels, a root
# under .vm-cache/kernels for fetched ones (tools/kernels.sh).
base=${MODULES_BASE:-/}
base=${base%/}
moddir=$base/lib/modules/$kver

die() { echo "build-base: $*" >&2; exit 1; }
[ -d "$moddir" ] || die "no modules for kernel $kver in $moddir (apt-get install linux-image-$kver, or tools/kernels.sh)"
command -v cpio >/dev/null || die "cpio is missing (apt-get install cpio)"
command -v depmod >/dev/null || die "depmod is missing (apt-get install kmod)"
busybox=$(command -v busybox || true)
[ -n "$busybox" ] && ! ldd "$busybox" >/dev/null 2>&1 || die "a static busybox is needed (apt-get install busybox-static)"

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,lib64,proc,sys,dev,tmp,run,mnt,etc,root,home/tester}

install -m 0755 "$busybox" "$root/bin/busybox"
install -m 0755 "$here/init.sh" "$root/init"

# An ELF binary and every shared library it loads, at the paths ldd names.
copy_elf() {
  local src=$1 dest=${2:-$1} lib
  install -D -m 0755 "$(readlink -f "$src")" "$root$dest"
  for lib in $(ldd "$src" | awk '/=> \//{print $3} /^\t\//{print $1}'); do
    [ -e "$root$lib" ] || install -D -m 0755 "$(readlink -f "$lib")" "$root$lib"
  done
}

deno_bin=$(readlink -f "${DENO_BIN:-$(command -v deno)}") || die "deno is not on PATH (or set DENO_BIN)"
copy_elf "$deno_bin" /usr/bin/deno
for tool in ndctl daxctl cxl daxio pmempool fio mke2fs blkid wipefs sfdisk mkfs.xfs xfs_io; do
  path=$(command -v "$tool") || die "$tool is missing (.ci/run installs ndctl daxctl pmdk-tools fio e2fsprogs fdisk xfsprogs)"
  copy_elf "$path" "/usr/sbin/$tool"
done
ln -s mke2fs "$root/usr/sbin/mkfs.ext4"
# libpmem for pmem_persist through FFI, when the host has it.
for lib in /usr/lib/x86_64-linux-gnu/libpmem.so.1; do
  [ -e "$lib" ] && install -D -m 0644 "$(readlink -f "$lib")" "$root$lib"
done
cp /etc/ld.so.cache "$root/etc/ld.so.cache"
[ -e /etc/mke2fs.conf ] && cp /etc/mke2fs.conf "$root/etc/"
printf 'root:x:0:0:root:/root:/bin/sh\ntester:x:1000:1000:tester:/home/tester:/bin/sh\n' >"$root/etc/passwd"
printf 'root:x:0:\ntester:x:1000:\n' >"$root/etc/group"

# Kernel modules: the ones named below and what they depend on, decompressed,
# with indexes rebuilt by depmod so busybox modprobe and libkmod agree.
wanted="libnvdimm nd_btt nd_pmem nd_e820 nfit device_dax dax_pmem kmem ext4 xfs crc32c_generic crc32c_intel
  virtio_pci virtio_pmem nd_virtio cxl_acpi cxl_pci cxl_mem cxl_port cxl_pmem dax_hmem"
declare -A seen=()
add_module() {
  local name=$1 file rel dep
  [ -n "${seen[$name]:-}" ] && return
  seen[$name]=1
  file=$(modinfo -b "${base:-/}" -k "$kver" -n "$name" 2>/dev/null) || { echo "build-base: note: no module $name in $kver" >&2; return; }
  case $file in /*) ;; *) return ;; esac # built in
  rel=${file#"$moddir"/}
  rel=${rel#/lib/modules/$kver/}
  rel=${rel#/usr/lib/modules/$kver/}
  mkdir -p "$root/lib/modules/$kver/$(dirname "$rel")"
  case $file in
    *.ko.xz) xz -dc "$file" >"$root/lib/modules/$kver/${rel%.xz}" ;;
    *.ko.zst) zstd -qdc "$file" >"$root/lib/modules/$kver/${rel%.zst}" ;;
    *.ko.gz) gzip -dc "$file" >"$root/lib/modules/$kver/${rel%.gz}" ;;
    *) cp "$file" "$root/lib/modules/$kver/$rel" ;;
  esac
  for dep in $(modinfo -b "${base:-/}" -k "$kver" -F depends "$name" | tr ',' ' '); do add_module "$dep"; done
}
for m in $wanted; do add_module "$m"; done
for f in modules.builtin modules.builtin.modinfo modules.order; do
  [ -e "$moddir/$f" ] && cp "$moddir/$f" "$root/lib/modules/$kver/"
done
depmod -b "$root" "$kver"
# The kernel's configuration where Debian's 6.1 keeps it, for pmemctl doctor
# (tests/vm/kernels.ts finds it wherever the kernel's packages put it).
[ -n "${KERNEL_CONFIG:-}" ] && [ -f "$KERNEL_CONFIG" ] ||
  die "no kernel config for $kver (KERNEL_CONFIG='${KERNEL_CONFIG:-}'): every guest gets its kernel's config"
install -D -m 0644 "$KERNEL_CONFIG" "$root/boot/config-$kver"

mkdir -p "$(dirname "$out")"
(cd "$root" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) >"$out.$$.tmp"
mv "$out.$$.tmp" "$out"
echo "build-base: $out ($(du -h "$out" | cut -f1)) for $kver" >&2
