/**
 * kmod/pmem_legacy in the guests, on Debian's 6.1 and 6.12 kernels, without
 * nd_e820: it claims the memmap= range as /dev/pmemlegacy0, list sees the
 * claim, a destructive verify passes, a stamp survives rmmod/insmod,
 * regions= gives the requested size, and it refuses a range nd_pmem holds.
 */
import assert from "node:assert/strict";
import { COMMON_MODULES, resolveKernel, runVm, vmTest } from "./vm/vm.ts";

const KMOD = new URL("../kmod/", import.meta.url).pathname;
const P = "deno run -A --cached-only cli.ts";

/** Builds pmem_legacy.ko for `kver` (with W=1) in a scratch copy; returns the module and the build log. */
export async function buildModule(
  kver: string,
): Promise<{ ko: Uint8Array; log: string }> {
  const dir = Deno.makeTempDirSync({ prefix: "pmemctl-kmod-" });
  try {
    for (const f of ["pmem_legacy.c", "Kbuild", "Makefile"]) {
      Deno.copyFileSync(`${KMOD}${f}`, `${dir}/${f}`);
    }
    const out = await new Deno.Command("make", {
      args: ["-C", dir, `KVER=${kver}`, "W=1"],
    }).output();
    const log = new TextDecoder().decode(out.stdout) +
      new TextDecoder().decode(out.stderr);
    if (!out.success) {
      throw new Error(`building pmem_legacy for ${kver} failed:\n${log}`);
    }
    return { ko: Deno.readFileSync(`${dir}/pmem_legacy.ko`), log };
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

for (const series of ["6.1", "6.12"]) {
  vmTest(
    `pmem_legacy on ${series}: builds with W=1 clean, claims, serves, keeps data, DAX with MAP_SYNC, refuses a held range`,
    async () => {
      const kver = resolveKernel(series);
      const { ko, log } = await buildModule(kver);
      assert.doesNotMatch(log, /warning:/i, "W=1 build has no warnings");
      const r = await runVm({
        config: "legacy",
        kernel: series,
        modules: COMMON_MODULES, // no nd_e820: the range is left for pmem_legacy
        waitFor: [],
        files: { "/root/pmem_legacy.ko": ko },
        script: `set -e
insmod /root/pmem_legacy.ko
echo "@@size $(cat /sys/block/pmemlegacy0/size) $(cat /sys/block/pmemlegacy0/queue/physical_block_size)"
echo @@list; ${P} list --json; echo @@end
echo @@status; ${P} kmod status --json; echo @@end
${P} verify /dev/pmemlegacy0 --mode destructive --force --length 32M >&2 && echo @@destructive-pass
${P} verify /dev/pmemlegacy0 --mode stamp --force --length 16M >&2
rmmod pmem_legacy
insmod /root/pmem_legacy.ko
${P} verify /dev/pmemlegacy0 --mode check >&2 && echo @@stamp-survived
echo "@@queue-dax $(cat /sys/block/pmemlegacy0/queue/dax)"
mkfs.ext4 -q -F -b 4096 /dev/pmemlegacy0 >&2
mkdir -p /mnt/l && mount -o dax=always /dev/pmemlegacy0 /mnt/l
dd if=/dev/zero of=/mnt/l/f bs=1048576 count=4 2>/dev/null
sync
echo @@daxinfo; ${P} map info /mnt/l/f --json; echo @@end
grep ' /mnt/l ' /proc/self/mountinfo | sed 's/^/@@mount /'
umount /mnt/l
rmmod pmem_legacy
insmod /root/pmem_legacy.ko regions=64M@0x48000000
echo "@@regions $(cat /sys/block/pmemlegacy0/size)"
rmmod pmem_legacy
modprobe nd_e820
i=0; while [ ! -e /dev/pmem0 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
if insmod /root/pmem_legacy.ko 2>/dev/null; then echo @@loaded-while-held; else echo @@refused-while-held; fi
dmesg | grep 'pmem_legacy:' | sed 's/^\\[[ 0-9.]*\\] /@@log /'
`,
      });
      assert.equal(
        r.code,
        0,
        `guest script failed:\n${r.console.split("\n").slice(-30).join("\n")}`,
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
      assert.match(
        r.stdout,
        /^@@regions 131072$/m,
        "regions=64M@0x48000000 gives 64 MiB",
      );
      // DAX: the 2 MiB-aligned range has struct pages and a dax device.
      assert.match(r.stdout, /^@@queue-dax 1$/m);
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
