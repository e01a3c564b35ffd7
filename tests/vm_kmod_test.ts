/**
 * kmod/pmem_legacy in the guests, on every kernel of the matrix
 * (tests/vm/kernels.list: Debian's 6.1, 6.12, trixie's 6.12, 7.2 and 7.3),
 * without nd_e820: it builds W=1-clean, claims the memmap= range as
 * /dev/pmemlegacy0, list sees the claim, a destructive verify passes, a
 * stamp survives rmmod/insmod, an injected bad block fails reads with EIO
 * and is refused by map and reported by verify scan, regions= gives the
 * requested size and refuses a range outside legacy pmem, and it refuses a
 * range nd_pmem holds.
 */
import assert from "node:assert/strict";
import { sha256File } from "./helpers.ts";
import { type Kernel, kernelLines } from "./vm/kernels.ts";
import {
  assertGuestOk,
  COMMON_MODULES,
  resolveKernel,
  runVm,
  vmTest,
} from "./vm/vm.ts";

const KMOD = new URL("../kmod/", import.meta.url).pathname;
const P = "deno run -A --cached-only cli.ts";

/**
 * Builds pmem_legacy.ko for `kernel` (with W=1) in a scratch copy: with the
 * host's compiler, or inside the kernel's build root (chroot, with /proc)
 * when its headers want a compiler the host lacks. Returns the module and
 * the build log.
 */
export async function buildModule(
  kernel: Kernel,
): Promise<{ ko: Uint8Array; log: string }> {
  const root = kernel.buildRoot;
  const scratch = root ? `${root}/tmp` : undefined;
  const dir = Deno.makeTempDirSync({ dir: scratch, prefix: "pmemctl-kmod-" });
  try {
    for (const f of ["pmem_legacy.c", "Kbuild", "Makefile"]) {
      Deno.copyFileSync(`${KMOD}${f}`, `${dir}/${f}`);
    }
    const make = [
      "make",
      "-C",
      kernel.headers,
      `M=${dir.slice(root?.length ?? 0)}`,
      "W=1",
      "modules",
    ];
    const out = await new Deno.Command(root ? "unshare" : make[0], {
      args: root
        ? [
          "--mount",
          "--fork",
          "sh",
          "-c",
          `mount -t proc proc '${root}/proc' && exec chroot '${root}' "$@"`,
          "sh",
          ...make,
        ]
        : make.slice(1),
    }).output();
    const log = new TextDecoder().decode(out.stdout) +
      new TextDecoder().decode(out.stderr);
    if (!out.success) {
      throw new Error(
        `building pmem_legacy for ${kernel.version} failed:\n${log}`,
      );
    }
    return { ko: Deno.readFileSync(`${dir}/pmem_legacy.ko`), log };
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

for (const { name: series } of kernelLines()) {
  vmTest(
    `pmem_legacy on ${series}: builds with W=1 clean, claims, serves, keeps data, EIO on a bad block, DAX with MAP_SYNC, refuses a held or non-legacy range`,
    async () => {
      const { ko, log } = await buildModule(resolveKernel(series));
      assert.doesNotMatch(log, /warning|error/i, "W=1 build has no warnings");
      const r = await runVm({
        config: "legacy",
        kernel: series,
        modules: COMMON_MODULES, // no nd_e820: the range is left for pmem_legacy
        waitFor: [],
        files: { "/root/pmem_legacy.ko": ko },
        script: `set -e
echo "@@config $(sha256sum /boot/config-$(uname -r) | cut -d' ' -f1)"
insmod /root/pmem_legacy.ko
echo "@@size $(cat /sys/block/pmemlegacy0/size) $(cat /sys/block/pmemlegacy0/queue/physical_block_size)"
echo @@list; ${P} list --json; echo @@end
echo @@status; ${P} kmod status --json; echo @@end
${P} verify /dev/pmemlegacy0 --mode destructive --force --length 32M >&2 && echo @@destructive-pass
${P} verify /dev/pmemlegacy0 --mode stamp --force --length 16M >&2
rmmod pmem_legacy
insmod /root/pmem_legacy.ko
${P} verify /dev/pmemlegacy0 --mode check >&2 && echo @@stamp-survived
# A bad block injected like pmem's: reads of it fail with EIO, pmemctl refuses
# and reports it; the sectors beside it still read.
echo "2048 8" > /sys/block/pmemlegacy0/badblocks
echo "@@badblocks $(cat /sys/block/pmemlegacy0/badblocks)"
dd if=/dev/pmemlegacy0 of=/dev/null bs=4096 skip=256 count=1 iflag=direct 2>/tmp/dd.err && rc=0 || rc=$?; echo "@@bad-read $rc"
grep -o 'Input/output error' /tmp/dd.err | head -1 | sed 's/^/@@bad-read-err /'
dd if=/dev/pmemlegacy0 of=/dev/null bs=4096 skip=255 count=1 iflag=direct 2>/dev/null && rc=0 || rc=$?; echo "@@good-read $rc"
${P} map read /dev/pmemlegacy0 --offset 1M --length 4096 --output /tmp/x 2>/tmp/m.err && rc=0 || rc=$?; echo "@@bad-map $rc"
echo @@scan; ${P} verify /dev/pmemlegacy0 --length 2M --json || true; echo @@end
echo "@@queue-dax $(cat /sys/block/pmemlegacy0/queue/dax)"
mkfs.ext4 -q -F -b 4096 /dev/pmemlegacy0 >&2
mkdir -p /mnt/l && mount -o dax=always /dev/pmemlegacy0 /mnt/l
dd if=/dev/zero of=/mnt/l/f bs=1048576 count=4 2>/dev/null
sync
echo @@daxinfo; ${P} map info /mnt/l/f --json; echo @@end
grep ' /mnt/l ' /proc/self/mountinfo | sed 's/^/@@mount /'
# The DAX path as pmem.c's: write(2) to a DAX file copies with non-temporal
# stores, read(2) with machine-check-safe copies, msync writes the CPU
# caches back. Counted with kprobes, here and on nd_pmem's pmem0 below.
T=/sys/kernel/tracing
[ -e $T/kprobe_events ] || mount -t tracefs nodev $T
# dax_flush()'s write-back, and the copies dax_copy_from_iter() and
# dax_copy_to_iter() choose by the device's flags (the arch's own where the
# generic one cannot be probed).
probe() {
  n=$1; shift
  for s in "$@"; do
    if echo "p:pmemctl_$n $s" >> $T/kprobe_events 2>/dev/null; then echo "@@probe $n $s"; return 0; fi
  done
  echo "@@probe $n none of $*: $(grep -oE ' [a-z_]*(flushcache|copy_mc|wb_cache)[a-z_]*' /proc/kallsyms | sort -u | tr -d '\n')"
  return 1
}
probe wb arch_wb_cache_pmem || true
probe fc _copy_from_iter_flushcache __copy_user_flushcache copy_user_flushcache || true
probe mc _copy_mc_to_iter copy_mc_to_user || true
echo 1 > $T/events/kprobes/enable
hits() { awk -v e="pmemctl_$1" '$1 == e { n = $2 } END { print n + 0 }' $T/kprobe_profile; }
daxpath() {
  a=$(hits fc); xfs_io -f -c "pwrite -q 0 1m" -c fsync $1/w; echo "@@$2-write $(( $(hits fc) - a ))"
  a=$(hits wb); xfs_io -f -c "truncate 1m" -c "mmap -w 0 1m" -c "mwrite 0 1m" -c "msync -s 0 1m" $1/m; echo "@@$2-msync $(( $(hits wb) - a ))"
  a=$(hits mc); xfs_io -c "pread -q 0 1m" $1/w; echo "@@$2-read $(( $(hits mc) - a ))"
}
daxpath /mnt/l legacy
umount /mnt/l
rmmod pmem_legacy
insmod /root/pmem_legacy.ko regions=64M@0x48000000
echo "@@regions $(cat /sys/block/pmemlegacy0/size)"
rmmod pmem_legacy
# RAM is not legacy pmem: refused, and the load fails.
if insmod /root/pmem_legacy.ko regions=64M@0x10000000 2>/dev/null; then echo @@loaded-ram; else echo @@refused-ram; fi
modprobe nd_e820
i=0; while [ ! -e /dev/pmem0 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
if insmod /root/pmem_legacy.ko 2>/dev/null; then echo @@loaded-while-held; else echo @@refused-while-held; fi
ndctl create-namespace -f -e namespace0.0 -m fsdax -M mem >&2
mkfs.ext4 -q -F -b 4096 /dev/pmem0 >&2
mkdir -p /mnt/p && mount -o dax=always /dev/pmem0 /mnt/p
daxpath /mnt/p nd
umount /mnt/p
dmesg | grep 'pmem_legacy:' | sed 's/^\\[[ 0-9.]*\\] /@@log /'
`,
      });
      assertGuestOk(r);
      // Every line's guest has its own kernel's config, wherever its
      // packages put it (trixie's 6.12 in boot/, 7.x in usr/lib/modules/).
      assert.match(
        r.stdout,
        new RegExp(
          `^@@config ${await sha256File(resolveKernel(series).config!)}$`,
          "m",
        ),
      );
      // Loading, DAX, rmmod and reloading must leave no kernel complaint.
      assert.doesNotMatch(
        r.console,
        /WARNING: CPU|BUG:|Oops|general protection|Call Trace/,
      );
      assert.match(
        r.stdout,
        /^@@size 524288 4096$/m,
        "256 MiB in 512-byte sectors, 4 KiB physical blocks",
      );
      const list = JSON.parse(
        r.stdout.match(/^@@list\n([\s\S]*?)^@@end$/m)![1],
      );
      assert.deepEqual([list.regions[0].start, list.regions[0].claimed_by], [
        0x40000000,
        "pmem_legacy",
      ]);
      const status = JSON.parse(
        r.stdout.match(/^@@status\n([\s\S]*?)^@@end$/m)![1],
      );
      assert.deepEqual(
        status.ranges.map((x: { claimed_by: string }) => x.claimed_by),
        ["pmem_legacy"],
      );
      assert.ok(
        status.modules.find((m: { name: string }) => m.name === "pmem_legacy")
          .loaded,
      );
      assert.ok(
        !status.modules.find((m: { name: string }) => m.name === "nd_e820")
          .loaded,
      );
      assert.match(r.stdout, /^@@destructive-pass$/m);
      assert.match(r.stdout, /^@@stamp-survived$/m);
      // The bad block: EIO for its sector, not a machine check; the next one reads.
      assert.match(r.stdout, /^@@badblocks 2048 8$/m);
      assert.match(r.stdout, /^@@bad-read 1$/m);
      assert.match(r.stdout, /^@@bad-read-err Input\/output error$/m);
      assert.match(r.stdout, /^@@good-read 0$/m);
      assert.match(r.stdout, /^@@bad-map 3$/m);
      const scan = JSON.parse(
        r.stdout.match(/^@@scan\n([\s\S]*?)^@@end$/m)![1],
      );
      assert.equal(scan.result, "fail");
      assert.deepEqual(
        scan.bad_ranges.map((
          b: { offset: number; length: number; reason: string },
        ) => [b.offset, b.length, b.reason]),
        [[0x100000, 4096, "badblocks"], [0x100000, 4096, "EIO"]],
      );
      assert.match(r.stdout, /^@@refused-ram$/m);
      assert.match(
        r.stdout,
        /^@@log pmem_legacy: regions=64M@0x10000000: \[mem 0x10000000-0x13ffffff\] is not inside a Persistent Memory \(legacy\) range$/m,
      );
      assert.match(
        r.stdout,
        /^@@regions 131072$/m,
        "regions=64M@0x48000000 gives 64 MiB",
      );
      // DAX: the 2 MiB-aligned range has struct pages and a dax device.
      assert.match(r.stdout, /^@@queue-dax 1$/m);
      // ... set up as nd_pmem's: each copy and the write-back ran for it
      // as they do for pmem0.
      for (const dev of ["nd", "legacy"]) {
        for (const step of ["write", "msync", "read"]) {
          const n = Number(
            r.stdout.match(
              new RegExp(`^@@${dev}-${step} (\\d+)$`, "m"),
            )?.[1],
          );
          assert.ok(n > 0, `${dev} ${step}: ${n} kprobe hits\n${r.stdout}`);
        }
      }
      assert.match(
        r.stdout,
        /^@@mount .* \/mnt\/l .* ext4 \/dev\/pmemlegacy0 rw,.*dax=always/m,
      );
      const info = JSON.parse(
        r.stdout.match(/^@@daxinfo\n([\s\S]*?)^@@end$/m)![1],
      );
      assert.deepEqual([info.dax, info.map_sync, info.persistence], [
        true,
        true,
        "map_sync",
      ]);
      assert.match(r.stdout, /^@@refused-while-held$/m);
      assert.match(
        r.stdout,
        /^@@log pmem_legacy: \[mem 0x40000000-0x4fffffff\] is \/dev\/pmemlegacy0 \(DAX\)$/m,
      );
      assert.match(
        r.stdout,
        /^@@log pmem_legacy: \[mem 0x40000000-0x4fffffff\] skipped: another driver holds it$/m,
      );
      assert.match(
        r.stdout,
        /^@@log pmem_legacy: nothing to claim: no unclaimed legacy persistent memory range$/m,
      );
    },
    series,
  );
}
