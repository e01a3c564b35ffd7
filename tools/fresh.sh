#!/usr/bin/env bash
# What CI on a machine that has never run the suite will see (`deno task
# ci:fresh`): the committed HEAD cloned into an empty directory and run as
# `bash .ci/run` with
#
#   - its own empty .vm-cache/ (kernels, build roots, guest initramfs),
#     DENO_DIR and npm cache: nothing built or downloaded before (HOME stays:
#     the machine's ~/.npmrc says how to reach the registry);
#   - nothing of the host's /boot, /lib/modules and /usr/src but the kernels
#     tools/setup.sh installs (`setup.sh --host-kernels`: the one
#     linux-image-amd64 depends on today and the newest 6.12): older ABIs,
#     hand-copied configs, hand-built or DKMS modules (updates/, extra/) and
#     anything else there are hidden in a private mount namespace.
#
# Packages tools/setup.sh installs with apt go to the host, as they would on
# CI's machine; they are installed before the namespace is made, so that
# nothing lands in a hidden view. Uncommitted changes are not in the run.
#
# usage: tools/fresh.sh [--keep]   (--keep leaves the clone for a look)
# Needs root (apt-get, debootstrap, mount namespaces).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
say() { echo "fresh: $*" >&2; }
keep=""
case ${1:-} in
  --keep) keep=1 ;;
  "") ;;
  *) say "usage: tools/fresh.sh [--keep]"; exit 2 ;;
esac
[ "$(id -u)" = 0 ] || { say "needs root (apt-get, debootstrap, mount namespaces)"; exit 3; }
command -v unshare >/dev/null || { say "unshare is missing (apt-get install util-linux)"; exit 3; }

[ -z "$(git -C "$root" status --porcelain --untracked-files=no)" ] ||
  say "note: uncommitted changes are not in the run (it clones HEAD $(git -C "$root" rev-parse --short HEAD))"

work=$(mktemp -d /var/tmp/pmemctl-fresh.XXXXXX)
# As a clone anywhere else: the tests that run pmemctl as another user read it.
chmod 755 "$work"
if [ -z "$keep" ]; then trap 'rm -rf "$work"' EXIT; fi
git clone -q "$root" "$work/src"
mkdir -p "$work/deno" "$work/npm" "$work/view"
# The environment CI gives: the machine's (its CA bundle and ~/.npmrc reach
# the registries), with empty caches and nothing of this checkout's on PATH.
run_env=(env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
  DENO_DIR="$work/deno" npm_config_cache="$work/npm" CI=true)
started=$(date +%s)
say "clone of $(git -C "$work/src" rev-parse --short HEAD) in $work/src"

# 1. What CI's run installs on the host, before the view hides anything.
"${run_env[@]}" bash "$work/src/tools/setup.sh" --vm
kernels=$("${run_env[@]}" bash "$work/src/tools/setup.sh" --host-kernels)
[ -n "$kernels" ] || { say "tools/setup.sh --host-kernels named no kernel"; exit 3; }
say "host kernels in the view: $(echo $kernels)"

# 2. The view: /boot, /lib/modules and /usr/src hold those kernels alone.
cat >"$work/view.sh" <<'VIEW'
set -euo pipefail
view=$1; shift
kernels=$1; shift
mount -t tmpfs tmpfs "$view"
mkdir -p "$view/boot" "$view/modules" "$view/src"
bind() { # bind SRC DEST: a file, a directory or a link, seen at DEST
  if [ -L "$1" ]; then cp -P "$1" "$2"; return; fi
  if [ -d "$1" ]; then mkdir -p "$2"; else : >"$2"; fi
  mount --bind "$1" "$2"
}
for k in $kernels; do
  for f in /boot/*-"$k"; do [ -e "$f" ] && bind "$f" "$view/boot/${f##*/}"; done
  [ -d "/lib/modules/$k" ] && bind "/lib/modules/$k" "$view/modules/$k"
  for d in updates extra; do
    [ -d "$view/modules/$k/$d" ] && mount -t tmpfs tmpfs "$view/modules/$k/$d"
  done
  line=$(echo "$k" | grep -oE '^[0-9]+\.[0-9]+')
  for d in /usr/src/linux-headers-"${k%-amd64}"* /usr/src/linux-kbuild-"${k%-amd64}" /usr/src/linux-kbuild-"$line"; do
    [ -e "$d" ] && bind "$d" "$view/src/${d##*/}"
  done
done
hidden=$(cd / && ls -d boot/* lib/modules/* usr/src/* 2>/dev/null | wc -l)
shown=$(cd "$view" && ls -d boot/* modules/* src/* 2>/dev/null | wc -l)
echo "fresh: the host's /boot, /lib/modules, /usr/src: $shown of $hidden entries shown" >&2
mount --rbind "$view/boot" /boot
mount --rbind "$view/modules" /lib/modules
mount --rbind "$view/src" /usr/src
cd "$1"; shift
exec "$@"
VIEW
set +e
unshare --mount --propagation private \
  "${run_env[@]}" bash "$work/view.sh" "$work/view" "$kernels" "$work/src" bash .ci/run 2>&1 |
  tee "$work/ci.log"
status=${PIPESTATUS[0]}
set -e
took=$(($(date +%s) - started))
summary=$(grep -E '^tests: [0-9]+ passed' "$work/ci.log" | tail -1 || true)
say "${summary:-no test summary} · exit $status · $((took / 60)) min $((took % 60)) s on $(nproc) cores"
[ -n "$keep" ] && say "kept: $work (remove it when done)"
exit "$status"
