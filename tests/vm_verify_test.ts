/**
 * `pmemctl verify` on real pmem in the guests: a stamp survives power-off,
 * bytes changed in the NVDIMM's backing file between boots are reported at
 * exactly their offsets; rw killed with SIGKILL and resumed leaves the
 * device bit-identical; scan reports bad blocks injected through sysfs.
 */
import assert from "node:assert/strict";
import { HELPERS } from "./vm/guest_sh.ts";
import { assertGuestOk, guestJson, runVm, vmTest } from "./vm/vm.ts";

const P = "deno run -A --cached-only cli.ts";
const MiB = 2 ** 20;

const ok = (r: { code: number; console: string }) => assertGuestOk(r);

vmTest(
  "verify: a stamp survives power-off; bytes changed between boots are found at exactly their offsets",
  async () => {
    const nvdimm = Deno.makeTempFileSync({ prefix: "pmemctl-nvdimm-" });
    try {
      Deno.truncateSync(nvdimm, 512 * MiB);
      // The label-less NVDIMM comes up as one raw namespace over the whole file: device offset = file offset.
      const first = await runVm({
        config: "nfit",
        nvdimm,
        script: `set -e
${P} verify /dev/pmem0 --mode stamp --force --length 32M --seed 1234 >&2
${P} verify /dev/pmem0 --mode stamp --force --offset 32M --length 32M >&2
`,
      });
      ok(first);
      const changed = [
        32 * MiB + 5_000_000,
        32 * MiB + 5_000_001,
        64 * MiB - 1,
      ];
      const f = Deno.openSync(nvdimm, { read: true, write: true });
      for (const at of changed) {
        const b = new Uint8Array(1);
        f.seekSync(at, Deno.SeekMode.Start);
        f.readSync(b);
        b[0] ^= 0x04; // one stuck bit
        f.seekSync(at, Deno.SeekMode.Start);
        f.writeSync(b);
      }
      f.close();
      const second = await runVm({
        config: "nfit",
        nvdimm,
        script: `
echo @@healthy; ${P} verify /dev/pmem0 --mode check --json; echo @@end
echo @@changed; ${P} verify /dev/pmem0 --mode check --offset 32M --json; echo "@@end"
${P} verify /dev/pmem0 --mode check --offset 32M >/dev/null 2>&1; echo "@@rc $?"
`,
      });
      ok(second);
      const d = guestJson(second);
      const healthy = d.get("healthy");
      assert.deepEqual([healthy.result, healthy.seed, healthy.bytes_checked], [
        "pass",
        1234,
        // Every byte but the header's 64 bytes of fields (checked by checksum).
        32 * MiB - 64,
      ]);
      const bad = d.get("changed");
      assert.equal(bad.result, "fail");
      assert.equal(bad.mismatch_count, 3);
      assert.deepEqual(
        bad.mismatches.map((m: { offset: number }) => m.offset),
        changed,
      );
      for (const m of bad.mismatches) assert.equal(m.actual, m.expected ^ 0x04);
      assert.match(second.stdout, /^@@rc 1$/m);
    } finally {
      Deno.removeSync(nvdimm);
    }
  },
);

vmTest(
  "verify rw on /dev/pmem0 killed with SIGKILL, then --resume: bit-identical",
  async () => {
    const r = await runVm({
      config: "legacy",
      script: `set -e
${HELPERS}
head -c 67108864 /dev/urandom > /tmp/r
dd if=/tmp/r of=/dev/pmem0 bs=1048576 conv=notrunc,fsync 2>/dev/null
before=$(head -c 67108864 /dev/pmem0 | sha256sum | cut -d' ' -f1)
${P} verify /dev/pmem0 --mode rw --length 64M --journal /root/journal >&2 &
pid=$!
# Kill as soon as a window is under test (the journal says so), however slow the guest is.
i=0
while ! active /root/journal && [ $i -lt 1200 ]; do
  sleep 0.05
  i=$((i+1))
done
kill -9 $pid || true
wait $pid || true
active /root/journal && echo "@@killed-mid-window"
${P} verify /dev/pmem0 --mode rw --journal /root/journal --resume >&2
after=$(head -c 67108864 /dev/pmem0 | sha256sum | cut -d' ' -f1)
echo "@@before $before"
echo "@@after $after"
`,
    });
    ok(r);
    const before = r.stdout.match(/^@@before (\w+)$/m)?.[1];
    assert.ok(before);
    assert.equal(r.stdout.match(/^@@after (\w+)$/m)?.[1], before);
    assert.match(
      r.stdout,
      /^@@killed-mid-window$/m,
      "the kill landed inside a window",
    );
  },
);

vmTest(
  "verify scan reports bad blocks injected through sysfs, as EIO and as known bad blocks",
  async () => {
    const r = await runVm({
      config: "legacy",
      script: `
echo "8 8" > /sys/block/pmem0/badblocks
echo @@scan; ${P} verify /dev/pmem0 --length 1M --json; echo @@end
${P} verify /dev/pmem0 --length 1M >/dev/null 2>&1; echo "@@rc $?"
echo @@clean; ${P} verify /dev/pmem0 --offset 1M --length 1M --json; echo @@end
# A second bad block at 40 MiB: with two threads each may meet one.
echo "81920 8" > /sys/block/pmem0/badblocks
echo @@jobs1; ${P} verify /dev/pmem0 --length 48M --jobs 1 --json; echo @@end
echo @@jobs2; ${P} verify /dev/pmem0 --length 48M --jobs 2 --json; echo @@end
`,
    });
    ok(r);
    const d = guestJson(r);
    const scan = d.get("scan");
    assert.equal(scan.result, "fail");
    assert.deepEqual(
      scan.bad_ranges.map((
        b: { offset: number; length: number; reason: string },
      ) => [b.offset, b.length, b.reason]),
      [[4096, 4096, "badblocks"], [4096, 4096, "EIO"]],
    );
    assert.match(r.stdout, /^@@rc 1$/m);
    assert.equal(d.get("clean").result, "pass");
    const one = d.get("jobs1"), two = d.get("jobs2");
    assert.deepEqual([one.jobs, two.jobs], [1, 2]);
    assert.deepEqual(
      one.bad_ranges.filter((b: { reason: string }) => b.reason === "EIO")
        .map((b: { offset: number; length: number }) => [b.offset, b.length]),
      [[4096, 4096], [40 * MiB, 4096]],
    );
    for (const key of ["bad_ranges", "bytes_checked", "result"]) {
      assert.deepEqual(two[key], one[key], key);
    }
  },
);

vmTest(
  "verify scan of a file on a DAX mount reports a bad block injected under it at its offset in the file",
  async () => {
    const r = await runVm({
      config: "nfit",
      script: `set -e
ndctl create-namespace -f -e namespace0.0 -m fsdax -M mem >&2
mkfs.ext4 -q -F -b 4096 /dev/pmem0
mkdir -p /mnt/p && mount -o dax /dev/pmem0 /mnt/p
dd if=/dev/urandom of=/mnt/p/f bs=1M count=4 conv=fsync 2>/dev/null
# The file's first extent in 512-byte sectors of /dev/pmem0, e.g. "0: [0..8191]: 264192..272383".
phys=$(xfs_io -r -c fiemap /mnt/p/f | awk 'NR==2 { split($3, a, "[.][.]"); print a[1] }')
# A bad page 1.5 MiB into the file: inside a 1 MiB read, not at its start.
echo "$((phys + 3072)) 8" > /sys/block/pmem0/badblocks
echo @@one; ${P} verify /mnt/p/f --jobs 1 --json || true; echo @@end
echo @@two; ${P} verify /mnt/p/f --jobs 2 --json || true; echo @@end
`,
    });
    ok(r);
    const d = guestJson(r);
    for (const name of ["one", "two"]) {
      const doc = d.get(name);
      assert.equal(doc.result, "fail", name);
      assert.equal(doc.bytes_checked, 4 * MiB, name);
      assert.deepEqual(
        doc.bad_ranges.map((
          b: { offset: number; length: number; reason: string },
        ) => [b.offset, b.length, b.reason]),
        [[1.5 * MiB, 4096, "EIO"]],
        name,
      );
    }
  },
);

vmTest(
  "verify --jobs 2 on /dev/pmem0 (held O_EXCL, scanned O_DIRECT) and /dev/dax0.0: the threads find what one thread finds",
  async () => {
    const r = await runVm({
      config: "nfit",
      script: `set -e
${P} verify /dev/pmem0 --mode stamp --force --length 96M --jobs 2 --seed 77 >&2
# Two bytes on either side of the threads' edge at 48 MiB, one near the end.
for at in $((48*1048576-1)) $((48*1048576)) $((90*1048576+3)); do
  printf 'ZZ' | dd of=/dev/pmem0 bs=1 seek=$at conv=notrunc,fsync 2>/dev/null
done
echo @@one; ${P} verify /dev/pmem0 --mode check --jobs 1 --json || true; echo @@end
echo @@two; ${P} verify /dev/pmem0 --mode check --jobs 2 --json || true; echo @@end
echo @@scan; ${P} verify /dev/pmem0 --length 128M --jobs 2 --json; echo @@end
ndctl create-namespace -f -e namespace0.0 -m devdax -a 2M >&2
echo @@dax; ${P} verify /dev/dax0.0 --mode destructive --force --length 128M --jobs 2 --json; echo @@end
echo @@daxscan; ${P} verify /dev/dax0.0 --offset 1M --length 100M --jobs 2 --json; echo @@end
# Bytes daxio changes after a stamp, at the ends of the 1 MiB pieces the
# pattern is checked in and between: found by one thread and by two.
${P} verify /dev/dax0.0 --mode stamp --force --length 64M --seed 9 >&2
for at in $((16*1048576-1)) $((16*1048576)) $((40*1048576+5)); do
  printf 'ZZ' > /tmp/zz; daxio -i /tmp/zz -o /dev/dax0.0 -s $at -l 1 >/dev/null 2>&1
done
echo @@daxone; ${P} verify /dev/dax0.0 --mode check --jobs 1 --json || true; echo @@end
echo @@daxtwo; ${P} verify /dev/dax0.0 --mode check --jobs 2 --json || true; echo @@end
`,
    });
    ok(r);
    const d = guestJson(r);
    const one = d.get("one"), two = d.get("two");
    assert.deepEqual([one.jobs, two.jobs, one.result], [1, 2, "fail"]);
    assert.ok(one.mismatch_count >= 3, `${one.mismatch_count} mismatches`);
    for (
      const key of [
        "mismatch_count",
        "mismatches",
        "bad_ranges",
        "bytes_checked",
      ]
    ) {
      assert.deepEqual(two[key], one[key], key);
    }
    assert.ok(
      one.mismatches.some((m: { offset: number }) => m.offset < 48 * MiB) &&
        one.mismatches.some((m: { offset: number }) => m.offset >= 48 * MiB),
    );
    const scan = d.get("scan");
    assert.deepEqual(
      [scan.result, scan.jobs, scan.io, scan.bytes_checked],
      ["pass", 2, "o_direct", 128 * MiB],
    );
    const dax = d.get("dax");
    assert.deepEqual([dax.result, dax.jobs, dax.io, dax.bytes_checked], [
      "pass",
      2,
      "mmap",
      128 * MiB,
    ]);
    const daxone = d.get("daxone"), daxtwo = d.get("daxtwo");
    assert.deepEqual([daxone.result, daxtwo.result], ["fail", "fail"]);
    for (const found of [daxone, daxtwo]) {
      assert.deepEqual(
        found.mismatches.map((m: { offset: number }) => m.offset),
        [16 * MiB - 1, 16 * MiB, 40 * MiB + 5],
      );
    }
    const daxscan = d.get("daxscan");
    assert.deepEqual([daxscan.result, daxscan.jobs, daxscan.bytes_checked], [
      "pass",
      2,
      100 * MiB,
    ]);
  },
);
