#!/usr/bin/env bash
# Fetches the guest kernels of tests/vm/kernels.list that the host's own apt
# sources do not carry (suite other than bookworm), with their headers, into
# .vm-cache/, and the build roots whose compilers their headers need:
#
#   .vm-cache/apt/                  a separate sources list and state: the
#                                   host's packages are never upgraded
#   .vm-cache/kernels/VER/          the unpacked image and modules (vmlinuz,
#                                   lib/modules/VER with modules.dep)
#   .vm-cache/roots/SUITE/          debootstrap --variant=minbase SUITE with
#                                   the gcc its kernels' headers depend on
#                                   (trixie: gcc-14, sid: gcc-16) and make,
#                                   and each such kernel's headers inside
#
# Each line resolves to the newest version the archive serves. Prints
# nothing when everything is there. Needs root (debootstrap, chroot).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cache=$root/.vm-cache
mirror=${PMEMCTL_DEBIAN_MIRROR:-http://deb.debian.org/debian}
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
say() { echo "kernels: $*" >&2; }

apt_dir=$cache/apt
aptopts=(
  -o "Dir::Etc::SourceList=$apt_dir/sources.list" -o Dir::Etc::SourceParts=/dev/null
  -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache"
  -o Dir::State::status=/dev/null -o Debug::NoLocking=1 -o APT::Sandbox::User=root
)

# The foreign suites named in the list.
suites=$(awk '!/^#/ && NF == 4 && $2 != "bookworm" {print $2}' "$root/tests/vm/kernels.list" | sort -u)
[ -n "$suites" ] || exit 0

index_updated=""
update_index() {
  [ -n "$index_updated" ] && return
  mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial"
  : >"$apt_dir/sources.list"
  for s in $suites; do
    echo "deb [signed-by=$keyring] $mirror $s main" >>"$apt_dir/sources.list"
  done
  say "reading the archive's index ($(echo $suites))"
  local out s gone=""
  if ! out=$(apt-get "${aptopts[@]}" update -qq 2>&1); then
    # A suite the archive no longer serves: one line naming it, not apt's page.
    for s in $suites; do
      ls "$apt_dir/lists/"*"_dists_${s}_"*Release >/dev/null 2>&1 || gone="$gone $s"
    done
    [ -n "$gone" ] && say "the archive ($mirror) serves no suite$gone, which tests/vm/kernels.list names: move those lines to a suite it serves"
    [ -n "$gone" ] || say "apt-get update failed: $(echo "$out" | grep -v '^\s*$' | tail -1)"
    exit 3
  fi
  index_updated=1
}

# newest NAME-PATTERN: the newest linux-headers-VER matching VER=PATTERN.
newest() {
  apt-cache "${aptopts[@]}" search --names-only "^linux-headers-$1\$" 2>/dev/null |
    awk '{print $1}' | sed 's/^linux-headers-//' | sort -V | tail -1
}

# fetch DIR PACKAGE...: apt-get download into DIR (cached), print the .deb paths.
fetch() {
  local dir=$1; shift
  mkdir -p "$dir"
  (cd "$dir" && apt-get "${aptopts[@]}" download -qq "$@" >&2)
  for p in "$@"; do ls "$dir/${p}_"*.deb; done
}

# The packages of a build root: the compiler the headers name (their
# package's gcc-NN dependency), make, and what W=1 builds run (perl for
# kernel-doc, pahole for BTF, objtool's libelf).
root_base=make,libc6-dev,kmod,xz-utils,libelf-dev,perl,dwarves
build_root() {
  local name=$1 gcc=$2 dir=$cache/roots/$1 want
  want="$gcc,$root_base"
  [ -e "$dir/.packages" ] && [ "$(cat "$dir/.packages")" = "$want" ] && return
  command -v debootstrap >/dev/null || { say "debootstrap is missing (apt-get install debootstrap)"; exit 3; }
  say "creating the $name build root with debootstrap (once; cached in .vm-cache/roots/$name)"
  rm -rf "$dir.partial"
  mkdir -p "$cache/roots"
  if ! debootstrap --variant=minbase --include="$want" "$name" "$dir.partial" "$mirror" >"$dir.log" 2>&1; then
    say "debootstrap of $name from $mirror failed (has the archive dropped $name?): $(grep -v '^\s*$' "$dir.log" | tail -1) (log: $dir.log)"
    exit 3
  fi
  echo "$want" >"$dir.partial/.packages"
  rm -rf "$dir" && mv "$dir.partial" "$dir"
}

# headers_in_root VER ROOTNAME: the kernel's headers unpacked in its build root.
headers_in_root() {
  local ver=$1 name=$2 base=${1%-amd64} d gcc
  if [ -e "$cache/roots/$name/.packages" ] && [ -e "$cache/roots/$name/usr/src/linux-headers-$ver/Makefile" ]; then
    return
  fi
  update_index
  gcc=$(apt-cache "${aptopts[@]}" show "linux-headers-$ver" | sed -n 's/^Depends: //p' | grep -o 'gcc-[0-9]*' | head -1)
  build_root "$name" "${gcc:-gcc}"
  for d in $(fetch "$cache/debs" "linux-headers-$ver" "linux-headers-$base-common" "linux-kbuild-$base"); do
    dpkg-deb -x "$d" "$cache/roots/$name"
  done
}

while read -r name suite pattern build; do
  case $name in ''|'#'*) continue ;; esac
  [ "$suite" = bookworm ] && continue
  have=$(ls -d "$cache/kernels/"* 2>/dev/null | xargs -rn1 basename | grep -E "^$pattern\$" | sort -V | tail -1 || true)
  # The archive's index is read again once a day (or with PMEMCTL_KERNELS_REFRESH=1):
  # a newer kernel of the line replaces the cached one in the tests.
  fresh=""
  [ -d "$apt_dir/lists" ] && [ -z "$(find "$apt_dir/lists" -maxdepth 0 -mmin +1440)" ] && fresh=1
  [ -n "${PMEMCTL_KERNELS_REFRESH:-}" ] && fresh=""
  if [ -n "$have" ] && [ -e "$cache/kernels/$have/.complete" ] && [ -n "$fresh" ]; then
    [ "$build" = host ] || headers_in_root "$have" "$build"
    continue
  fi
  update_index
  ver=$(newest "$pattern")
  [ -n "$ver" ] || { say "the archive's $suite has no kernel of the line $name any more (no linux-headers matching $pattern): update tests/vm/kernels.list"; exit 3; }
  dest=$cache/kernels/$ver
  if [ -e "$dest/.complete" ]; then
    [ "$build" = host ] || headers_in_root "$ver" "$build"
    continue
  fi
  say "fetching Linux $ver ($suite) into .vm-cache/kernels/$ver"
  debs=$cache/debs
  base=${ver%-amd64}                       # 7.3.4+deb13
  # The image: one package up to 6.12, split into binary + modules after.
  if apt-cache "${aptopts[@]}" show "linux-binary-$ver" >/dev/null 2>&1; then
    image=$(fetch "$debs" "linux-binary-$ver" "linux-modules-$ver" "linux-base-$ver")
  else
    image=$(fetch "$debs" "linux-image-$ver")
  fi
  rm -rf "$dest.partial" && mkdir -p "$dest.partial/root"
  for d in $image; do dpkg-deb -x "$d" "$dest.partial/root"; done
  mods=$dest.partial/root/lib/modules/$ver
  [ -d "$mods" ] || mods=$dest.partial/root/usr/lib/modules/$ver
  [ -d "$mods" ] || { say "no modules in the $ver packages"; exit 3; }
  vmlinuz=$dest.partial/root/boot/vmlinuz-$ver
  [ -e "$vmlinuz" ] || vmlinuz=$mods/vmlinuz
  [ -e "$vmlinuz" ] || { say "no vmlinuz in the $ver packages"; exit 3; }
  # Every guest gets its kernel's config (tests/vm/kernels.ts finds it).
  [ -e "$mods/config" ] || [ -e "$dest.partial/root/boot/config-$ver" ] ||
    { say "no kernel config in the $ver packages (boot/config-$ver or modules/$ver/config)"; exit 3; }
  depmod -b "${mods%/lib/modules/$ver}" "$ver"
  ln -s "${vmlinuz#"$dest.partial/"}" "$dest.partial/vmlinuz"
  ln -s "${mods#"$dest.partial/"}" "$dest.partial/modules"
  if [ "$build" != host ]; then
    headers_in_root "$ver" "$build"
    echo "$build" >"$dest.partial/build-root"
  fi
  touch "$dest.partial/.complete"
  rm -rf "$dest" && mv "$dest.partial" "$dest"
done <"$root/tests/vm/kernels.list"
