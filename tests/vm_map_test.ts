/**
 * `pmemctl map` against real /dev/pmem0, /dev/dax0.0 and files on
 * DAX-mounted ext4 in the guests: bytes pmemctl writes read back the same
 * with dd and daxio, and the reverse, at unaligned offsets and lengths; and
 * every refusal, with bad blocks injected through sysfs.
 */
import assert from "node:assert/strict";
import { assertGuestOk, runVm, type VmResult, vmTest } from "./vm/vm.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

const HELPERS = `
P="deno run -A --cached-only cli.ts"
check() { if cmp -s "$1" "$2"; then echo "@@ok $3"; else echo "@@bad $3"; fi; }
st() { name=$1; shift; "$@" >/dev/null 2>/tmp/err; echo "@@rc $name $? $(head -1 /tmp/err)"; }
info() { echo "@@info $1"; $P map info "$2" --json; echo "@@end"; }
`;

interface Outcome {
  /** The script's whole stdout. */
  raw: string;
  ok: string[];
  bad: string[];
  rc: Map<string, { code: number; message: string }>;
  info: Map<string, Json>;
}

function outcome(r: VmResult): Outcome {
  assertGuestOk(r);
  const rc = new Map<string, { code: number; message: string }>();
  for (const m of r.stdout.matchAll(/^@@rc (\S+) (\d+) ?(.*)$/gm)) {
    rc.set(m[1], { code: Number(m[2]), message: m[3] });
  }
  const info = new Map<string, Json>();
  for (const m of r.stdout.matchAll(/^@@info (\S+)\n([\s\S]*?)@@end$/gm)) {
    info.set(m[1], JSON.parse(m[2]));
  }
  return {
    raw: r.stdout,
    ok: [...r.stdout.matchAll(/^@@ok (\S+)$/gm)].map((m) => m[1]),
    bad: [...r.stdout.matchAll(/^@@bad (\S+)$/gm)].map((m) => m[1]),
    rc,
    info,
  };
}

function refused(
  o: Outcome,
  name: string,
  code: number,
  message: RegExp,
): void {
  const got = o.rc.get(name);
  assert.ok(got, `${name} did not run`);
  assert.equal(got.code, code, `${name}: ${got.message}`);
  assert.match(got.message, message, name);
}

vmTest(
  "map on /dev/pmem0: bytes round-trip with dd both ways; O_EXCL, signature, range and bad-block refusals",
  async () => {
    const o = outcome(
      await runVm({
        config: "legacy",
        script: `${HELPERS}
info pmem0 /dev/pmem0
head -c 3145728 /dev/urandom > /tmp/a
$P map write /dev/pmem0 --offset 1M --input /tmp/a
dd if=/dev/pmem0 of=/tmp/a.back bs=1048576 skip=1 count=3 2>/dev/null
check /tmp/a /tmp/a.back pmemctl-to-dd
head -c 2097152 /dev/urandom > /tmp/b
dd if=/tmp/b of=/dev/pmem0 bs=1048576 seek=8 conv=notrunc,fsync 2>/dev/null
$P map read /dev/pmem0 --offset $((8*1048576+12345)) --length 1000000 > /tmp/b.part
tail -c +12346 /tmp/b | head -c 1000000 > /tmp/b.want
check /tmp/b.want /tmp/b.part dd-to-pmemctl-unaligned
head -c 100000 /dev/urandom > /tmp/c
cat /tmp/c | $P map write /dev/pmem0 --offset 12345
dd if=/dev/pmem0 bs=12345 skip=1 count=9 2>/dev/null | head -c 100000 > /tmp/c.back
check /tmp/c /tmp/c.back stdin-unaligned-to-dd
st past $P map write /dev/pmem0 --offset 255M --input /tmp/a
mkfs.ext4 -q -F -b 4096 /dev/pmem0
mkdir -p /mnt/p && mount /dev/pmem0 /mnt/p
st mounted $P map write /dev/pmem0 --offset 64M --input /tmp/c --force
umount /mnt/p
st signature $P map write /dev/pmem0 --offset 64M --input /tmp/c
st forced $P map write /dev/pmem0 --offset 64M --input /tmp/c --force
echo "2048 8" > /sys/block/pmem0/badblocks
st badwrite $P map write /dev/pmem0 --offset 1M --input /tmp/c --force
st badread $P map read /dev/pmem0 --offset 1M --length 4096 --output /tmp/x
st beside $P map read /dev/pmem0 --offset 2M --length 4096 --output /tmp/x
`,
      }),
    );
    assert.deepEqual(o.bad, []);
    assert.deepEqual(o.ok, [
      "pmemctl-to-dd",
      "dd-to-pmemctl-unaligned",
      "stdin-unaligned-to-dd",
    ]);
    const info = o.info.get("pmem0");
    assert.deepEqual(
      [
        info.kind,
        info.size,
        info.dax,
        info.map_sync,
        info.align,
        info.persistence,
        info.device,
      ],
      ["block", 256 * 2 ** 20, false, false, 4096, "msync", "pmem0"],
    );
    refused(o, "past", 2, /past the end/);
    refused(o, "mounted", 3, /EBUSY \(mounted, or held/);
    refused(o, "signature", 2, /carries a ext2\/3\/4 signature: pass --force/);
    refused(o, "forced", 0, /^$/);
    refused(o, "badwrite", 3, /known bad blocks at bytes 0x100000-0x100fff/);
    refused(o, "badread", 3, /known bad blocks/);
    refused(o, "beside", 0, /^$/);
  },
);

vmTest(
  "map on /dev/dax0.0: unaligned offsets and lengths round-trip with daxio both ways",
  async () => {
    const o = outcome(
      await runVm({
        config: "nfit",
        script: `${HELPERS}
ndctl create-namespace -f -e namespace0.0 -m devdax -a 2M >&2
info dax /dev/dax0.0
head -c 1572869 /dev/urandom > /tmp/a
$P map write /dev/dax0.0 --offset $((3*1048576+777)) --input /tmp/a
daxio -i /dev/dax0.0 -o /tmp/a.back -k $((3*1048576+777)) -l 1572869 2>/dev/null
check /tmp/a /tmp/a.back pmemctl-to-daxio
head -c 1000001 /dev/urandom > /tmp/b
daxio -i /tmp/b -o /dev/dax0.0 -s $((9*1048576+4095)) -l 1000001 2>/dev/null
$P map read /dev/dax0.0 --offset $((9*1048576+4095)) --length 1000001 > /tmp/b.back
check /tmp/b /tmp/b.back daxio-to-pmemctl
$P map zero /dev/dax0.0 --offset $((3*1048576+1000)) --length 5000 --force
$P map read /dev/dax0.0 --offset $((3*1048576+1000)) --length 5000 > /tmp/z
head -c 5000 /dev/zero > /tmp/z.want
check /tmp/z.want /tmp/z zeroed
st past $P map write /dev/dax0.0 --offset 502M --input /tmp/b
# A file input is mapped and copied: across window boundaries, at odd offsets.
head -c $((40*1048576+12345)) /dev/urandom > /tmp/big
$P map write /dev/dax0.0 --offset $((5*1048576+3)) --input /tmp/big
daxio -i /dev/dax0.0 -o /tmp/big.back -k $((5*1048576+3)) -l $((40*1048576+12345)) 2>/dev/null
check /tmp/big /tmp/big.back mapped-input
# A pipe is read(2) into the mapping.
cat /tmp/a | $P map write /dev/dax0.0 --offset $((60*1048576+1))
daxio -i /dev/dax0.0 -o /tmp/a.pipe -k $((60*1048576+1)) -l 1572869 2>/dev/null
check /tmp/a /tmp/a.pipe piped-input
# Stdin is a file another reader took 1000 bytes of: pmemctl writes the
# rest and leaves the descriptor at the end.
{ dd bs=1000 count=1 of=/dev/null 2>/dev/null; $P map write /dev/dax0.0 --offset $((70*1048576)); cat > /tmp/after; } < /tmp/a
tail -c +1001 /tmp/a > /tmp/a.rest
daxio -i /dev/dax0.0 -o /tmp/a.rest.back -k $((70*1048576)) -l 1571869 2>/dev/null
check /tmp/a.rest /tmp/a.rest.back stdin-file-rest
check /dev/null /tmp/after stdin-file-consumed
# A regular file that cannot be mapped (sysfs text, 4096 bytes by stat):
# read(2) after all, from the right place; it ends early, which is said.
st sysfsin $P map write /dev/dax0.0 --offset 80M --input /sys/bus/dax/devices/dax0.0/align
cat /sys/bus/dax/devices/dax0.0/align > /tmp/align
daxio -i /dev/dax0.0 -o /tmp/align.back -k $((80*1048576)) -l $(wc -c < /tmp/align) 2>/dev/null
check /tmp/align /tmp/align.back unmappable-input
# Known bad blocks: qemu cannot poison NVDIMM memory, so a list naming the
# sectors 1 MiB into the device is bound over the region's (read-only)
# badblocks file; pmemctl must refuse ranges that touch them.
rs=$(cat /sys/bus/nd/devices/region0/resource)
ds=$(cat /sys/bus/dax/devices/dax0.0/resource)
echo "$(( (ds - rs) / 512 + 2048 )) 8" > /tmp/bb
mount -o bind /tmp/bb /sys/bus/nd/devices/region0/badblocks
st daxbadwrite $P map write /dev/dax0.0 --offset $((1048576 - 10)) --input /tmp/a
st daxbadread $P map read /dev/dax0.0 --offset $((1048576 + 4095)) --length 1 --output /tmp/x
st daxbadzero $P map zero /dev/dax0.0 --length 1M --force
st daxbeside $P map read /dev/dax0.0 --offset $((1048576 + 4096)) --length 4096 --output /tmp/x
# verify's scan reports them and reads around them (poison would be a SIGBUS).
$P verify /dev/dax0.0 --length 4M --json > /tmp/scan.json || true
echo "@@scan $(tr -d '\n ' < /tmp/scan.json)"
umount /sys/bus/nd/devices/region0/badblocks
`,
      }),
    );
    assert.deepEqual(o.bad, []);
    assert.deepEqual(o.ok, [
      "pmemctl-to-daxio",
      "daxio-to-pmemctl",
      "zeroed",
      "mapped-input",
      "piped-input",
      "stdin-file-rest",
      "stdin-file-consumed",
      "unmappable-input",
    ]);
    const info = o.info.get("dax");
    assert.deepEqual(
      [
        info.kind,
        info.size,
        info.dax,
        info.map_sync,
        info.align,
        info.persistence,
        info.device,
        info.cache_flush,
      ],
      [
        "devdax",
        526385152,
        true,
        true,
        2 * 2 ** 20,
        "devdax",
        "dax0.0",
        "libpmem",
      ],
    );
    assert.deepEqual(info.warnings, []);
    refused(o, "past", 2, /past the end/);
    refused(o, "sysfsin", 2, /ended after 8 of the 4096 bytes/);
    const bad =
      /known bad blocks at bytes 0x100000-0x100fff \(region0 sectors \d+\+8\) lie in the range/;
    refused(o, "daxbadwrite", 3, bad);
    refused(o, "daxbadread", 3, bad);
    refused(o, "daxbadzero", 0, /^$/);
    refused(o, "daxbeside", 0, /^$/);
    const scan = JSON.parse(
      (o.raw.match(/^@@scan (.*)$/m) ?? ["", "{}"])[1],
    );
    assert.deepEqual(
      [scan.result, scan.bytes_checked, scan.bad_ranges],
      ["fail", 4 * 2 ** 20, [{
        offset: 0x100000,
        length: 4096,
        reason: "badblocks",
      }]],
    );
  },
);

vmTest(
  "map on ext4 files: dax=always grants MAP_SYNC, dax=never does not; bytes round-trip with dd",
  async () => {
    const o = outcome(
      await runVm({
        config: "nfit",
        script: `${HELPERS}
ndctl create-namespace -f -e namespace0.0 -m fsdax -M mem >&2
mkfs.ext4 -q -F -b 4096 /dev/pmem0
mkdir -p /mnt/p
for mode in always never; do
  mount -o dax=$mode /dev/pmem0 /mnt/p
  dd if=/dev/zero of=/mnt/p/f bs=1048576 count=8 2>/dev/null
  sync
  info $mode /mnt/p/f
  head -c 300000 /dev/urandom > /tmp/d
  $P map write /mnt/p/f --offset 12345 --input /tmp/d
  dd if=/mnt/p/f bs=12345 skip=1 count=25 2>/dev/null | head -c 300000 > /tmp/d.back
  check /tmp/d /tmp/d.back $mode-pmemctl-to-dd
  $P map read /mnt/p/f --offset 12345 --length 300000 > /tmp/d.read
  check /tmp/d /tmp/d.read $mode-read
  st mounted-$mode $P map write /dev/pmem0 --input /tmp/d --force
  umount /mnt/p
done
`,
      }),
    );
    assert.deepEqual(o.bad, []);
    assert.deepEqual(o.ok, [
      "always-pmemctl-to-dd",
      "always-read",
      "never-pmemctl-to-dd",
      "never-read",
    ]);
    const always = o.info.get("always");
    assert.deepEqual([
      always.kind,
      always.dax,
      always.map_sync,
      always.persistence,
    ], ["file", true, true, "map_sync"]);
    const never = o.info.get("never");
    assert.deepEqual(
      [never.kind, never.dax, never.map_sync, never.persistence],
      ["file", false, false, "msync"],
    );
    refused(o, "mounted-always", 3, /EBUSY/);
  },
);

/** A `map --jobs 2` round trip on DEV, each direction checked by READBACK (a shell function: offset, length, file). */
const JOBS_SCRIPT = (dev: string) => `
big=$((100*1048576+12345)); at=$((3*1048576+5))
head -c $big /dev/urandom > /tmp/big
$P map write ${dev} --offset $at --input /tmp/big --jobs 2 --json > /tmp/w.json
echo "@@json write $(cat /tmp/w.json | tr -d '\\n ')"
readback $at $big /tmp/big.back
check /tmp/big /tmp/big.back jobs-write
$P map read ${dev} --offset $at --length $big --output /tmp/big.read --jobs 2 --json > /tmp/r.json
echo "@@json read $(cat /tmp/r.json | tr -d '\\n ')"
check /tmp/big /tmp/big.read jobs-read
$P map zero ${dev} --offset $((7*1048576+3)) --length $((50*1048576)) --force --jobs 2 --json > /tmp/z.json
echo "@@json zero $(cat /tmp/z.json | tr -d '\\n ')"
readback $((7*1048576+3)) $((50*1048576)) /tmp/z.back
head -c $((50*1048576)) /dev/zero > /tmp/z.want
check /tmp/z.want /tmp/z.back jobs-zero
readback $at $((4*1048576-2)) /tmp/head.back
head -c $((4*1048576-2)) /tmp/big > /tmp/head.want
check /tmp/head.want /tmp/head.back jobs-zero-before
`;

function jobsReports(o: Outcome): Record<string, Json> {
  return Object.fromEntries(
    [...o.raw.matchAll(/^@@json (\S+) (.*)$/gm)].map((m) => [
      m[1],
      JSON.parse(m[2]),
    ]),
  );
}

vmTest(
  "map --jobs 2 on /dev/pmem0 and /dev/dax0.0 (two vCPUs): threads write, read and zero what dd and daxio read back",
  async () => {
    const pmem = outcome(
      await runVm({
        config: "legacy",
        cpus: 2,
        script: `${HELPERS}
readback() { dd if=/dev/pmem0 bs=1M count=$(( ($1 + $2) / 1048576 + 1 )) 2>/dev/null | tail -c +$(($1 + 1)) | head -c $2 > $3; }
${JOBS_SCRIPT("/dev/pmem0")}`,
      }),
    );
    const dax = outcome(
      await runVm({
        config: "nfit",
        cpus: 2,
        script: `${HELPERS}
ndctl create-namespace -f -e namespace0.0 -m devdax -a 2M >&2
readback() { daxio -i /dev/dax0.0 -o $3 -k $1 -l $2 2>/dev/null; }
${JOBS_SCRIPT("/dev/dax0.0")}`,
      }),
    );
    for (const [o, io] of [[pmem, "o_direct"], [dax, "mmap-nt"]] as const) {
      assert.deepEqual(o.bad, []);
      assert.deepEqual(o.ok, [
        "jobs-write",
        "jobs-read",
        "jobs-zero",
        "jobs-zero-before",
      ]);
      const r = jobsReports(o);
      for (const op of ["write", "read", "zero"]) {
        assert.equal(r[op].jobs, 2, `${op}: ${JSON.stringify(r[op])}`);
        assert.equal(r[op].io, io);
        assert.equal(r[op].durable, true);
      }
    }
  },
);
