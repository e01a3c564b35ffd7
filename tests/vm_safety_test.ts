/**
 * Never lose a byte, on real pmem in the guests: /dev/pmem0 (legacy, block)
 * and /dev/dax0.0 (NVDIMM, device-DAX) get the faults that
 * tests/safety_test.ts tries on files: rw killed and resumed, a garbled
 * journal, a second pmemctl on a held device, the target given as output
 * or journal, SIGINT in the middle of destructive; and a DAX file on ext4
 * (-o dax) that shrinks or whose filesystem is full under a mapped write.
 */
import assert from "node:assert/strict";
import { HELPERS } from "./vm/guest_sh.ts";
import { assertGuestOk, runVm, type VmResult, vmTest } from "./vm/vm.ts";

const P = "deno run -A --cached-only cli.ts";

const ok = (r: { code: number; console: string }) => assertGuestOk(r, 40);

/** `@@name value` lines of the guest's stdout. */
function lines(r: VmResult): Map<string, string> {
  return new Map(
    [...r.stdout.matchAll(/^@@(\S+) ?(.*)$/gm)].map((m) => [m[1], m[2]]),
  );
}

/** The device faults, run in one guest per device kind. */
function deviceScript(dev: string, setup: string): string {
  return `set -e
${HELPERS}
${setup}
head -c 67108864 /dev/urandom > /tmp/r
${P} map write ${dev} --input /tmp/r --force >&2
sum() { ${P} map read ${dev} --length 64M | sha256sum | cut -d' ' -f1; }
before=$(sum)
echo "@@before $before"
set +e
# The target as output or journal: refused before anything is opened for writing.
rc output ${P} map read ${dev} --length 4096 --output ${dev}
ln -s ${dev} /tmp/link
rc journal-link ${P} verify ${dev} --mode rw --length 16M --journal /tmp/link
# rw killed inside a window, a new run refused, the journal garbled, then resumed.
${P} verify ${dev} --mode rw --length 64M --journal /root/j >&2 &
pid=$!
i=0; while ! active /root/j && [ $i -lt 1200 ]; do sleep 0.02; i=$((i+1)); done
kill -9 $pid; wait $pid
active /root/j && echo "@@killed-mid-window"
rc again ${P} verify ${dev} --mode rw --length 64M --journal /root/j
cp /root/j /tmp/good
printf 'X' | dd of=/root/j bs=1 seek=9000 conv=notrunc 2>/dev/null
rc garbled ${P} verify ${dev} --mode rw --journal /root/j --resume
echo "@@after-garbled $(sum)"
cp /tmp/good /root/j
rc resumed ${P} verify ${dev} --mode rw --journal /root/j --resume
echo "@@after $(sum)"
# A second pmemctl on a held device.
${P} verify ${dev} --mode destructive --force --offset 64M --length 64M --passes 500 --json > /tmp/d.json 2>/tmp/d.err &
pid=$!
held $pid ${dev}
echo "@@holder $pid"
rc second-zero ${P} map zero ${dev} --force --offset 64M --length 4096
rc second-scan ${P} verify ${dev} --length 1M
# The same device through a node made with mknod.
mknod /tmp/alias ${
    dev === "/dev/dax0.0" ? "c" : "b"
  } $((0x$(stat -L -c %t ${dev}))) $((0x$(stat -L -c %T ${dev})))
rc alias-write ${P} map write /tmp/alias --input /tmp/r --length 4096 --offset 64M --force
rc alias-zero ${P} map zero /tmp/alias --force --offset 64M --length 4096
rc alias-read ${P} map read /tmp/alias --offset 64M --length 4096 --output /tmp/x
rc alias-rw ${P} verify /tmp/alias --mode rw --offset 64M --length 16M
# SIGINT in the middle of destructive: stops within a second, says so.
sleep 1
t0=$(awk '{print int($1*1000)}' /proc/uptime)
kill -INT $pid; wait $pid; echo "@@int $?"
t1=$(awk '{print int($1*1000)}' /proc/uptime)
echo "@@int-ms $((t1 - t0))"
echo "@@int-json $(tr -d '\\n' < /tmp/d.json)"
echo "@@int.err $(grep '^pmemctl: ' /tmp/d.err | head -1)"
echo "@@final $(sum)"
# The device taken away under a run (${
    dev === "/dev/dax0.0" ? "daxctl disable-device" : "ndctl disable-namespace"
  }).
${P} verify ${dev} --mode destructive --force --offset 64M --length 64M --passes 500 >/dev/null 2>/tmp/g.err &
pid=$!
held $pid ${dev}
sleep 1
${
    dev === "/dev/dax0.0"
      ? "daxctl disable-device dax0.0 >&2"
      : "ndctl disable-namespace namespace0.0 >&2"
  }; echo "@@disable $?"
sleep 1
kill -INT $pid 2>/dev/null
wait $pid; echo "@@gone $?"
echo "@@gone.err $(grep '^pmemctl: ' /tmp/g.err | head -1)"
`;
}

function checkDevice(r: VmResult, dev: string): void {
  ok(r);
  const l = lines(r);
  const before = l.get("before");
  assert.ok(before && /^[0-9a-f]{64}$/.test(before), r.stdout);
  assert.equal(l.get("output"), "2");
  assert.match(l.get("output.err")!, /--output .* is the target .* itself/);
  assert.equal(l.get("journal-link"), "2");
  assert.match(l.get("journal-link.err")!, /is the target .* itself/);
  assert.ok(
    l.has("killed-mid-window"),
    `the kill landed inside a window\n${r.stdout}`,
  );
  assert.equal(l.get("again"), "2");
  assert.match(l.get("again.err")!, /pass --resume/);
  assert.equal(l.get("garbled"), "2");
  assert.match(l.get("garbled.err")!, /--journal \/root\/j: .*damaged/);
  assert.notEqual(
    l.get("after-garbled"),
    before,
    "killed mid-window: the pattern is still in the target",
  );
  assert.equal(l.get("resumed"), "0", l.get("resumed.err"));
  assert.equal(
    l.get("after"),
    before,
    `${dev} is bit-identical after --resume`,
  );
  const holder = l.get("holder");
  for (
    const k of [
      "second-zero",
      "second-scan",
      "alias-write",
      "alias-zero",
      "alias-read",
      "alias-rw",
    ]
  ) {
    assert.equal(l.get(k), "3", `${k}: ${l.get(`${k}.err`)}`);
    assert.match(
      l.get(`${k}.err`)!,
      new RegExp(`in use: pid ${holder} holds a pmemctl lock`),
    );
    assert.equal(l.get(`${k}.lines`), "1");
  }
  assert.equal(l.get("int"), "3", l.get("int.err"));
  assert.match(
    l.get("int.err")!,
    /interrupted by SIGINT: stopped after \d+ bytes/,
  );
  const doc = JSON.parse(l.get("int-json")!);
  assert.equal(doc.interrupted, "interrupted by SIGINT");
  assert.equal(doc.durable, true);
  // Under TCG a 16 MiB window can take a while; the bound is generous there.
  assert.ok(
    Number(l.get("int-ms")) < 5000,
    `SIGINT took ${l.get("int-ms")} ms`,
  );
  assert.equal(
    l.get("final"),
    before,
    "the first 64 MiB were never touched by the destructive run",
  );
}

vmTest(
  "safety on /dev/pmem0: overlap, rw kill/garble/resume, locks, SIGINT",
  async () => {
    const r = await runVm({
      config: "legacy",
      script: deviceScript("/dev/pmem0", ""),
      timeoutSeconds: 600,
    });
    checkDevice(r, "/dev/pmem0");
  },
);

vmTest(
  "safety on /dev/dax0.0: overlap, rw kill/garble/resume, locks, SIGINT",
  async () => {
    const r = await runVm({
      config: "nfit",
      script: deviceScript(
        "/dev/dax0.0",
        "ndctl create-namespace -f -e namespace0.0 -m devdax -a 2M >&2",
      ),
      timeoutSeconds: 600,
    });
    checkDevice(r, "/dev/dax0.0");
  },
);

vmTest(
  "a DAX file that shrinks or whose filesystem is full under a mapped write: exit 3, never SIGBUS",
  async () => {
    const r = await runVm({
      config: "nfit",
      script: `set -e
${HELPERS}
ndctl create-namespace -f -e namespace0.0 -m fsdax -M mem >&2
mkfs.ext4 -q -F -b 4096 /dev/pmem0
mkdir -p /mnt/p && mount -o dax /dev/pmem0 /mnt/p
set +e
# Full: a sparse file larger than the free space.
truncate -s 2G /mnt/p/sparse
rc full ${P} map zero /mnt/p/sparse --force
rc full-stamp ${P} verify /mnt/p/sparse --mode stamp --force
# What fallocate took before it ran out was given back: still sparse.
echo "@@sparse-kib $(du -k /mnt/p/sparse | cut -f1)"
rm /mnt/p/sparse
# Shrink: truncated by another process while destructive runs on it.
head -c 268435456 /dev/zero > /mnt/p/f
${P} verify /mnt/p/f --mode destructive --force --passes 100 >/dev/null 2>/tmp/s.err &
pid=$!
held $pid /mnt/p/f
sleep 2
truncate -s 1M /mnt/p/f
wait $pid; echo "@@shrink $?"
echo "@@shrink.err $(grep '^pmemctl: ' /tmp/s.err | head -1)"
# map write into a DAX file cut short under it, on one thread and on two:
# exit 3, saying how much was written and made durable.
head -c 268435456 /dev/urandom > /tmp/in
for j in 1 2; do
  head -c 268435456 /dev/zero > /mnt/p/g
  ${P} map write /mnt/p/g --input /tmp/in --jobs $j >/dev/null 2>/tmp/w.err &
  pid=$!
  held $pid /mnt/p/g
  sleep 1
  truncate -s 1M /mnt/p/g
  wait $pid; echo "@@write-shrink-$j $?"
  echo "@@write-shrink-$j.err $(grep '^pmemctl: ' /tmp/w.err | head -1)"
done
umount /mnt/p
`,
      timeoutSeconds: 600,
    });
    ok(r);
    const l = lines(r);
    for (const k of ["full", "full-stamp"]) {
      assert.equal(l.get(k), "3", `${k}: ${l.get(`${k}.err`)}`);
      assert.match(
        l.get(`${k}.err`)!,
        /filesystem is full: .* nothing was written/,
      );
    }
    assert.equal(l.get("sparse-kib"), "0");
    assert.equal(l.get("shrink"), "3", l.get("shrink.err"));
    assert.match(
      l.get("shrink.err")!,
      /^pmemctl: verify destructive \/mnt\/p\/f: the target shrank .*offset \d+$/,
    );
    // One thread says what it wrote before the window it stopped in (found
    // between windows, or by the fault guard inside one); several threads
    // name where the fault stopped them (what other threads had in flight
    // is not known: docs/safety.md).
    for (const j of [1, 2]) {
      const k = `write-shrink-${j}`;
      const said = l.get(`${k}.err`)!;
      assert.equal(l.get(k), "3", `${k}: ${said}`);
      assert.match(
        said,
        j === 1
          ? /^pmemctl: map write \/mnt\/p\/g: .*shrank.*the first \d+ bytes from offset 0 were written and made durable/
          : /^pmemctl: map write \/mnt\/p\/g: .*shrank.*(the first \d+ bytes from offset 0 were written and made durable|at offset \d+$)/,
        `${k}: ${said}`,
      );
    }
  },
);

vmTest(
  "bad blocks inside a partition are the disk's: map and verify on /dev/pmem0p2 refuse them as on the disk, and rw ends",
  async () => {
    const r = await runVm({
      config: "legacy",
      script: `set -e
${HELPERS}
printf 'label: gpt\\nsize=64M\\nsize=+\\n' | sfdisk -q /dev/pmem0
i=0; while [ ! -e /dev/pmem0p2 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
start=$(cat /sys/class/block/pmem0p2/start)
echo "@@start $start"
# One bad 4 KiB at 1 MiB into the partition, in the disk's list.
echo "$((start + 2048)) 8" > /sys/block/pmem0/badblocks
echo "@@disk-badblocks $(cat /sys/block/pmem0/badblocks)"
head -c 4194304 /dev/urandom > /tmp/in
set +e
rc zero ${P} map zero /dev/pmem0p2 --force --length 4M
rc zero-disk ${P} map zero /dev/pmem0 --force --offset $((start * 512)) --length 4M
rc read ${P} map read /dev/pmem0p2 --length 4M --output /tmp/o
rc write ${P} map write /dev/pmem0p2 --input /tmp/in --force
rc destructive ${P} verify /dev/pmem0p2 --mode destructive --force --length 8M
timeout -s KILL 300 ${P} verify /dev/pmem0p2 --mode rw --length 8M >/dev/null 2>/tmp/err; echo "@@rw $?"
echo "@@rw.err $(grep '^pmemctl: ' /tmp/err | head -1)"
echo "@@scan $(${P} verify /dev/pmem0p2 --length 8M --json | tr -d '\\n')"
rc clear ${P} map zero /dev/pmem0p2 --force --offset 2M --length 1M
`,
      timeoutSeconds: 600,
    });
    ok(r);
    const l = lines(r);
    const start = Number(l.get("start"));
    assert.ok(start > 0, r.stdout);
    const bad =
      /known bad blocks at bytes 0x100000-0x100fff \(pmem0 sectors \d+\+8\) lie in the range/;
    for (const k of ["zero", "read", "write", "destructive", "rw"]) {
      assert.equal(l.get(k), "3", `${k}: ${l.get(`${k}.err`)}`);
      assert.match(l.get(`${k}.err`)!, bad, k);
    }
    assert.equal(l.get("zero-disk"), "3");
    assert.match(l.get("zero-disk.err")!, /known bad blocks at bytes/);
    const scan = JSON.parse(l.get("scan")!);
    assert.notEqual(scan.result, "pass", l.get("scan"));
    assert.equal(l.get("clear"), "0", l.get("clear.err"));
  },
);
