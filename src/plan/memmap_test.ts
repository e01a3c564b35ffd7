import assert from "node:assert/strict";
import { finalTable, parseE820 } from "../parse/e820.ts";
import { memparseText, planMemmap, rangesToAvoid } from "./memmap.ts";

const GiB = 2 ** 30;
const MiB = 2 ** 20;
const FIXTURES = new URL("../../tests/fixtures/", import.meta.url).pathname;

/** A 16 GiB machine's firmware table: 3 GiB below the PCI hole, 13 GiB above 4 GiB. */
const SIXTEEN = `BIOS-e820: [mem 0x0000000000000000-0x000000000009fbff] usable
BIOS-e820: [mem 0x000000000009fc00-0x000000000009ffff] reserved
BIOS-e820: [mem 0x0000000000100000-0x00000000bfffffff] usable
BIOS-e820: [mem 0x00000000c0000000-0x00000000ffffffff] reserved
BIOS-e820: [mem 0x0000000100000000-0x000000043fffffff] usable
`;

function plan(log: string, req: Parameters<typeof planMemmap>[1], extra = "") {
  const table = finalTable(parseE820(log));
  return planMemmap(table, req, rangesToAvoid(log + extra, []));
}

Deno.test("plan memmap: from the top of RAM above 4 GiB, each tool's spelling, the cost", () => {
  const p = plan(SIXTEEN, { size: 4 * GiB, count: 1, align: 128 * MiB });
  assert.ok(!("reason" in p));
  assert.deepEqual(p.ranges, [{ start: 13 * GiB, size: 4 * GiB }]);
  assert.equal(p.param, "memmap=4G!13G");
  assert.equal(
    p.grub,
    'GRUB_CMDLINE_LINUX="$GRUB_CMDLINE_LINUX memmap=4G!13G"',
  );
  assert.equal(p.grubby, "grubby --update-kernel=ALL --args='memmap=4G!13G'");
  assert.equal(p.struct_page_bytes, 4 * GiB / 4096 * 64);
  assert.equal(p.ram_left, p.ram_total - 4 * GiB);
});

Deno.test("plan memmap: several ranges, 1 GiB alignment, never across the PCI hole", () => {
  const p = plan(SIXTEEN, { size: 4 * GiB, count: 3, align: GiB, keep: GiB });
  assert.ok(!("reason" in p));
  assert.equal(p.param, "memmap=4G!5G memmap=4G!9G memmap=4G!13G");
  const q = plan(SIXTEEN, {
    size: 2 * GiB,
    count: 1,
    align: GiB,
    start: 3 * GiB,
    keep: GiB,
  });
  assert.ok("reason" in q);
  assert.match(q.reason, /is not inside one usable-RAM entry/);
  // Six fit above 4 GiB, the seventh below it.
  const six = plan(SIXTEEN, { size: 2 * GiB, count: 7, align: GiB, keep: 0 });
  assert.ok(!("reason" in six));
  assert.deepEqual(six.ranges[0], { start: GiB, size: 2 * GiB });
  assert.match(six.warnings.join(";"), /1 of the 7 ranges lies below 4 GiB/);
  const r = plan(SIXTEEN, { size: 3 * GiB, count: 5, align: GiB, keep: 0 });
  assert.ok("reason" in r);
  assert.match(
    r.reason,
    /only 4 of 5 ranges of 3G fit: the largest free 1G-aligned span of usable RAM is 13 GiB/,
  );
  const s = plan(SIXTEEN, { size: 4 * GiB, count: 4, align: GiB, keep: 0 });
  assert.ok("reason" in s);
  assert.match(s.reason, /4 × 4G is more than the 16 GiB of usable RAM/);
});

Deno.test("plan memmap: keeps the RAM asked for, and away from crashkernel and the initrd", () => {
  const tight = plan(SIXTEEN, { size: 14 * GiB, count: 1, align: GiB });
  assert.ok("reason" in tight);
  assert.match(tight.reason, /less than the 4 GiB the system keeps/);
  const crash = plan(
    SIXTEEN,
    { size: 1 * GiB, count: 1, align: GiB },
    "[    0.000000] crashkernel reserved: 0x0000000400000000 - 0x0000000440000000 (1024 MB)\n",
  );
  assert.ok(!("reason" in crash));
  assert.deepEqual(crash.ranges, [{ start: 15 * GiB, size: GiB }]);
  assert.equal(memparseText(1536 * MiB), "1536M");
});

Deno.test("plan memmap on the captured legacy guest: below 4 GiB, clear of the initrd and the existing range", () => {
  const log = Deno.readTextFileSync(`${FIXTURES}legacy/dmesg.txt`);
  const p = planMemmap(
    finalTable(parseE820(log)),
    { size: 256 * MiB, count: 1, align: 128 * MiB, keep: GiB },
    rangesToAvoid(log, []),
    1,
  );
  assert.ok(!("reason" in p));
  // RAMDISK sits at 0x74a35000-0x7ffdffff; the existing memmap at 1G-1.25G.
  assert.equal(p.param, "memmap=256M!1536M");
  assert.match(p.warnings.join(), /no usable RAM above 4 GiB/);
});

Deno.test("plan memmap: ranges that do not all fit above 4 GiB go below it, with a warning", () => {
  // qemu's 4 GiB guest: 3 GiB below the PCI hole, 1 GiB above 4 GiB.
  const FOUR = `BIOS-e820: [mem 0x0000000000000000-0x000000000009fbff] usable
BIOS-e820: [mem 0x0000000000100000-0x00000000bffdffff] usable
BIOS-e820: [mem 0x00000000bffe0000-0x00000000bfffffff] reserved
BIOS-e820: [mem 0x0000000100000000-0x000000013fffffff] usable
`;
  const p = plan(FOUR, { size: GiB, count: 2, align: 128 * MiB, keep: GiB });
  assert.ok(!("reason" in p), JSON.stringify(p));
  assert.deepEqual(p.ranges, [
    { start: 0x80000000 - 128 * MiB, size: GiB },
    { start: 4 * GiB, size: GiB },
  ]);
  assert.ok(
    p.warnings.some((w) => /1 of the 2 ranges lies? below 4 GiB/.test(w)),
    p.warnings.join("; "),
  );
});

Deno.test("plan memmap: a SIZE or --start off the alignment is a usage error naming the value", () => {
  const table = [
    {
      table: "firmware" as const,
      start: 0x100000000,
      end: 0x4ffffffff,
      type: 1,
      typeText: "usable",
    },
  ];
  const size = planMemmap(table, {
    size: 100 << 20,
    count: 1,
    align: 128 << 20,
    keep: 0,
  }, []);
  assert.ok("reason" in size);
  assert.deepEqual([size.usage, size.reason], [
    "SIZE",
    "100M is not a multiple of the 128M alignment",
  ]);
  const start = planMemmap(table, {
    size: 128 << 20,
    count: 1,
    align: 128 << 20,
    start: 0x100001000,
    keep: 0,
  }, []);
  assert.ok("reason" in start);
  assert.deepEqual([start.usage, start.reason], [
    "--start",
    "0x100001000 is not 128M-aligned",
  ]);
  // A plan that does not fit is no usage error: the machine's RAM is the limit.
  const big = planMemmap(table, {
    size: 32 * 2 ** 30,
    count: 1,
    align: 128 << 20,
    keep: 0,
  }, []);
  assert.ok("reason" in big && big.usage === undefined);
});
