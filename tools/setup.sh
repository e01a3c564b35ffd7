#!/usr/bin/env bash
# Installs what pmemctl needs, and only what is missing:
#   tools/setup.sh        Deno (pinned, from the npm registry) into .tools/
#   tools/setup.sh --vm   also the Debian packages of the VM test guests
#                         (qemu, Debian's 6.1 and 6.12 kernels, busybox, peers)
#                         and the rest of the kernel matrix (tools/kernels.sh:
#                         trixie's 6.12, 7.2 and 7.3 with a trixie build root)
#   tools/setup.sh --host-kernels
#                         prints the host kernels --vm installs (the one
#                         linux-image-amd64 depends on, the newest 6.12), one
#                         version a line; tools/fresh.sh shows only those
# Prints nothing when everything is already there. Needs Node.js with npm;
# --vm needs root (or sudo) for apt-get.
set -euo pipefail

if [ "${1:-}" = "--host-kernels" ]; then
  dpkg-query -W -f='${Depends}' linux-image-amd64 2>/dev/null | grep -oE 'linux-image-[^ ,]+' | sed 's/^linux-image-//'
  ls /boot/vmlinuz-6.12.*+deb12-amd64 2>/dev/null | sed 's|^/boot/vmlinuz-||' | sort -V | tail -1
  exit 0
fi

DENO_VERSION=$(cat "$(dirname "$0")/deno-version")
root=$(cd "$(dirname "$0")/.." && pwd)
tools=$root/.tools
deno=$tools/node_modules/@deno/linux-x64-glibc/deno

say() { echo "setup: $*" >&2; }

if ! [ -x "$deno" ] || [ "$("$deno" --version 2>/dev/null | head -1 | cut -d' ' -f2)" != "$DENO_VERSION" ]; then
  command -v npm >/dev/null || { say "npm is missing: install Node.js (apt-get install nodejs npm)"; exit 3; }
  say "installing deno $DENO_VERSION from the npm registry into .tools/"
  npm install --no-save --no-audit --no-fund --loglevel=error --prefix "$tools" "deno@$DENO_VERSION" >&2
  [ -x "$deno" ] || { say "npm did not install the deno binary ($deno)"; exit 3; }
fi
mkdir -p "$tools/bin"
ln -sf "$deno" "$tools/bin/deno"
# bin/pmemctl reads this instead of running deno --version on every call.
echo "$DENO_VERSION" >"$tools/deno.stamp"

if [ "${1:-}" = "--vm" ]; then
  packages="qemu-system-x86 qemu-utils linux-image-amd64 linux-headers-amd64 busybox-static cpio kmod xz-utils make
    ndctl daxctl pmdk-tools libpmem1 fio e2fsprogs util-linux zsh fish tar time gcc dkms
    debootstrap binutils prometheus prometheus-node-exporter ansible-core ansible openssh-client lintian fdisk xfsprogs wabt"
  missing=""
  for p in $packages; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
  done
  ls /boot/vmlinuz-6.12.*+deb12-amd64 >/dev/null 2>&1 || missing="$missing kernel-6.12"
  # Headers for every installed 6.12 kernel (pmem_legacy is built against them).
  for img in /boot/vmlinuz-6.12.*+deb12-amd64; do
    [ -e "$img" ] || continue
    ver=${img#/boot/vmlinuz-}
    [ -e "/lib/modules/$ver/build/Makefile" ] || missing="$missing linux-headers-$ver"
  done
  if [ -n "$missing" ]; then
    sudo=""
    if [ "$(id -u)" != 0 ]; then
      command -v sudo >/dev/null || { say "need root for apt-get (missing:$missing)"; exit 3; }
      sudo=sudo
    fi
    say "installing Debian packages:$missing"
    $sudo apt-get update -qq >&2
    k612=""
    case $missing in *kernel-6.12*)
      k612=$(apt-cache search --names-only '^linux-image-6\.12\.[0-9]+\+deb12-amd64$' | awk '{print $1}' | sort -V | tail -1)
      [ -n "$k612" ] || { say "no linux-image-6.12.*+deb12-amd64 package in the apt sources"; exit 3; }
      k612="$k612 ${k612/linux-image-/linux-headers-}"
      ;;
    esac
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
      ${missing/kernel-6.12/} $k612 >&2
  fi
fi

if [ "${1:-}" = "--vm" ]; then
  bash "$root/tools/kernels.sh"
fi
