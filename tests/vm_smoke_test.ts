/**
 * Smoke tests of the FFI layer against real pmem in qemu guests: a
 * memmap= block device, a device-DAX character device and DAX-mounted ext4.
 */
import assert from "node:assert/strict";
import { assertGuestOk, runVm, vmTest } from "./vm/vm.ts";

const PROBE = "deno run -A --cached-only tests/vm/probe.ts";

/** The JSON lines a guest script printed. */
function jsonLines(stdout: string): Record<string, unknown>[] {
  return stdout.split("\n").filter((l) => l.startsWith("{")).map((l) =>
    JSON.parse(l)
  );
}

const check = (r: { code: number; console: string }) => assertGuestOk(r);

vmTest(
  "legacy: BLKGETSIZE64 on /dev/pmem0 equals sysfs size x 512; klogctl; the CLI runs offline",
  async () => {
    const r = await runVm({
      config: "legacy",
      script: `set -e
${PROBE} size /dev/pmem0
echo "sectors $(cat /sys/block/pmem0/size)"
${PROBE} klog
dmesg | grep -E 'persistent (RAM )?\\(type 12\\)' | sed 's/^\\[[ 0-9.]*\\] /dmesg: /'
deno run -A --cached-only cli.ts --version
`,
    });
    check(r);
    const [probe, klog] = jsonLines(r.stdout);
    // klogctl sees the same type-12 e820 line busybox dmesg prints.
    const dmesg = [...r.stdout.matchAll(/^dmesg: (.*)$/gm)].map((m) => m[1]);
    const type12 = klog.type12 as string[];
    assert.equal(type12.length, 1, JSON.stringify(klog));
    assert.match(
      type12[0],
      /^user: \[mem 0x0000000040000000-0x000000004fffffff\]\s+persistent (RAM )?\(type 12\)$/,
    );
    assert.deepEqual(klog.type12, dmesg);
    const sectors = Number(r.stdout.match(/^sectors (\d+)$/m)?.[1]);
    assert.equal(probe.size, sectors * 512);
    assert.equal(probe.size, 256 * 2 ** 20);
    assert.match(r.stdout, /^0\.\d+\.\d+$/m);
  },
);

vmTest(
  "nfit devdax: a 2 MiB-aligned mapping of /dev/dax0.0 round-trips, and daxio reads the same bytes",
  async () => {
    const r = await runVm({
      config: "nfit",
      script: `set -e
ndctl create-namespace -f -e namespace0.0 -m devdax -a 2M >&2
echo "align $(cat /sys/bus/dax/devices/dax0.0/align)"
${PROBE} dax-roundtrip /dev/dax0.0 4194304
daxio -i /dev/dax0.0 -o /tmp/daxio.out -k 4194304 -l 2097152 >&2
echo "daxio $(sha256sum /tmp/daxio.out | cut -d' ' -f1)"
`,
    });
    check(r);
    assert.match(r.stdout, /^align 2097152$/m);
    const [probe] = jsonLines(r.stdout);
    assert.equal(probe.read, probe.written);
    assert.equal(probe.mapSync, true, "device-DAX grants MAP_SYNC");
    // A platform fact later code relies on: device-DAX has no fsync, so msync
    // cannot make its writes durable (that takes a CPU cache flush).
    // (It answers EINVAL; only the failure is asserted, because Deno's
    // runtime has been seen to overwrite errno before JavaScript reads it.)
    assert.notEqual(probe.msync, "ok");
    assert.equal(r.stdout.match(/^daxio (\w+)$/m)?.[1], probe.written);
  },
);

vmTest(
  "nfit fsdax + ext4: statx reports DAX with dax=always and not with dax=never",
  async () => {
    const r = await runVm({
      config: "nfit",
      script: `set -e
ndctl create-namespace -f -e namespace0.0 -m fsdax -M mem >&2
mkfs.ext4 -q -F -b 4096 /dev/pmem0 >&2
mkdir -p /mnt/pmem
mount -o dax=always /dev/pmem0 /mnt/pmem
dd if=/dev/zero of=/mnt/pmem/file bs=4096 count=16 2>/dev/null
grep ' /mnt/pmem ' /proc/mounts >&2
${PROBE} file /mnt/pmem/file
umount /mnt/pmem
mount -o dax=never /dev/pmem0 /mnt/pmem
${PROBE} file /mnt/pmem/file
umount /mnt/pmem
`,
    });
    check(r);
    const [always, never] = jsonLines(r.stdout);
    assert.deepEqual(
      [always.dax, always.mapSync],
      [true, true],
      JSON.stringify(always),
    );
    assert.deepEqual(
      [never.dax, never.mapSync],
      [false, false],
      JSON.stringify(never),
    );
  },
);
