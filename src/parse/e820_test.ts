import assert from "node:assert/strict";
import { type E820Entry, finalTable, parseE820 } from "./e820.ts";
import { e820TypeFromLog } from "./e820_types.ts";
import { kernelLogLines } from "./klog.ts";

const LOGS = new URL("../../tests/fixtures/logs/", import.meta.url).pathname;
const FIXTURES = new URL("../../tests/fixtures/", import.meta.url).pathname;
const read = (name: string) => Deno.readTextFileSync(`${LOGS}${name}`);

/** The persistent-memory entries of the table the kernel used, as [start, end, type]. */
function pmem(entries: E820Entry[]): [number, number, number | null][] {
  return entries.filter((e) => e.type === 7 || e.type === 12).map((
    e,
  ) => [e.start, e.end, e.type]);
}

const LEGACY_PMEM: [number, number, number][] = [[0x40000000, 0x4fffffff, 12]];

// The same real 6.1 boot log, in every dress people paste it in.
const DRESSES = [
  "dmesg-6.1.txt",
  "syslog.txt",
  "journal-short-iso.txt",
  "dmesg-T.txt",
  "no-timestamps.txt",
  "dmesg-x.txt",
  "kmsg.txt",
  "klogctl.txt",
  "mail-quoted.txt",
  "mail-quoted-printable.txt",
];

const reference = parseE820(read("dmesg-6.1.txt"));

for (const name of DRESSES) {
  Deno.test(`e820 from ${name}: both tables, every entry, the type-12 range`, () => {
    const log = parseE820(read(name));
    assert.equal(log.boots, 1);
    assert.deepEqual(log.entries, reference.entries);
    assert.equal(log.entries.filter((e) => e.table === "firmware").length, 7);
    assert.deepEqual(pmem(finalTable(log)), LEGACY_PMEM);
    assert.deepEqual(
      pmem(log.entries.filter((e) => e.table === "firmware")),
      [],
    );
  });
}

Deno.test("e820 reference: firmware table as the guest's kernel printed it", () => {
  const fw = reference.entries.filter((e) => e.table === "firmware");
  assert.deepEqual(fw[0], {
    table: "firmware",
    start: 0,
    end: 0x9fbff,
    type: 1,
    typeText: "usable",
  });
  assert.deepEqual(fw[6], {
    table: "firmware",
    start: 0xfd00000000,
    end: 0xffffffffff,
    type: 2,
    typeText: "reserved",
  });
  // "e820: update [mem ...]" and "e820: remove [mem ...]" are not table entries.
  assert.ok(
    reference.entries.every((e) =>
      e.table === "firmware" || e.table === "user"
    ),
  );
});

Deno.test("e820 from every captured guest log matches the guest's memmap= and iomem", () => {
  for (const dir of Deno.readDirSync(FIXTURES)) {
    if (!dir.isDirectory || dir.name === "logs" || dir.name === "faults") {
      continue;
    }
    const log = parseE820(
      Deno.readTextFileSync(`${FIXTURES}${dir.name}/dmesg.txt`),
    );
    const want = dir.name.startsWith("legacy2")
      ? [[0x40000000, 0x47ffffff, 12], [0x60000000, 0x63ffffff, 12]]
      : dir.name.includes("legacy")
      ? LEGACY_PMEM
      : []; // qemu's NVDIMM is described by NFIT only, never e820
    assert.deepEqual(pmem(finalTable(log)), want, dir.name);
  }
});

Deno.test("e820 from Linux 2.6: exclusive ends, unnamed types bare ('type 12'), user table", () => {
  const log = parseE820(read("linux-2.6.txt"));
  const user = finalTable(log);
  assert.equal(user[0].table, "user");
  assert.deepEqual(pmem(user), [[0x300000000, 0x3ffffffff, 12]]);
  assert.equal(user.find((e) => e.type === 12)!.typeText, "type 12");
  assert.deepEqual(
    pmem(log.entries.filter((e) => e.table === "firmware")),
    [[0x300000000, 0x3ffffffff, 12]],
  );
  assert.deepEqual(user[0], {
    table: "user",
    start: 0,
    end: 0x9efff,
    type: 1,
    typeText: "usable",
  });
  assert.equal(user[4].type, 3); // ACPI data
});

Deno.test("e820 from 2025 kernels: new type words, [gap] lines skipped", () => {
  const log = parseE820(read("linux-2025.txt"));
  assert.equal(log.entries.filter((e) => e.table === "firmware").length, 6);
  assert.deepEqual(pmem(finalTable(log)), [[0x40000000, 0x4fffffff, 12], [
    0x50000000,
    0x5fffffff,
    12,
  ]]);
  assert.ok(
    log.entries.every((e) => e.type !== null),
    "every new word is known",
  );
  assert.deepEqual(
    [...new Set(log.entries.map((e) => e.type))].sort((a, b) => a! - b!),
    [1, 2, 12],
  );
});

Deno.test("e820 with ACPI 6 pmem: persistent (type 7) in the firmware table", () => {
  const log = parseE820(read("acpi-type7.txt"));
  assert.deepEqual(pmem(finalTable(log)), [
    [0x1080000000, 0x307fffffff, 7],
    [0x3080000000, 0x507fffffff, 7],
  ]);
});

Deno.test("adjacent type-12 entries stay separate ranges", () => {
  assert.deepEqual(pmem(parseE820(read("adjacent.txt")).entries), [
    [0x40000000, 0x47ffffff, 12],
    [0x48000000, 0x4fffffff, 12],
  ]);
});

Deno.test("a rotated log has no e820 table", () => {
  const log = parseE820(read("rotated.txt"));
  assert.deepEqual(log, { entries: [], boots: 0, warnings: [] });
});

Deno.test("a syslog holding two boots: the last boot's tables count", () => {
  const log = parseE820(read("two-boots-syslog.txt"));
  assert.equal(log.boots, 2);
  assert.deepEqual(pmem(finalTable(log)), [[0x40000000, 0x47ffffff, 12]]);
});

Deno.test("e820 type words, old and new", () => {
  const cases: [string, number | null][] = [
    ["usable", 1],
    ["System RAM", 1],
    ["reserved", 2],
    ["device reserved", 2],
    ["ACPI data", 3],
    ["ACPI NVS", 4],
    ["unusable", 5],
    ["persistent (type 7)", 7],
    ["persistent (type 12)", 12],
    ["persistent RAM (type 12)", 12],
    ["type 12", 12],
    ["type 20", 20],
    ["soft reserved", 0xefffffff],
    ["  1.5 GB System RAM", 1],
    ["something new", null],
  ];
  for (const [text, type] of cases) {
    assert.equal(e820TypeFromLog(text), type, text);
  }
});

Deno.test("kernelLogLines strips each decoration down to the message", () => {
  const want =
    "user: [mem 0x0000000040000000-0x000000004fffffff] persistent (type 12)";
  const dressed = [
    `[    0.000000] ${want}`,
    `[  +0.000012] ${want}`,
    `[Wed Nov 25 10:00:00 2026] ${want}`,
    `Nov  5 10:00:00 host kernel: [    0.000000] ${want}`,
    `2026-11-25T10:00:00.123456+01:00 host kernel: ${want}`,
    `kern  :info  : [    0.000000] ${want}`,
    `6,42,0,-;${want}`,
    `<6>[    0.000000] ${want}`,
    `> ${want}`,
    `>> > [    0.000000] ${want}`,
    `  ${want}  `,
    `    [    0.000000] ${want}`, // indented as a markdown code block
  ];
  for (const line of dressed) {
    assert.deepEqual(kernelLogLines(line), [want.trim()], line);
  }
});

Deno.test("kernelLogLines joins quoted-printable soft breaks and decodes =3D", () => {
  const text =
    "> [    0.000000] Command line: memmap=3D256M!1G console=3DttyS0 a=\n> nd more\n";
  assert.deepEqual(kernelLogLines(text), [
    "Command line: memmap=256M!1G console=ttyS0 and more",
  ]);
  // A plain log whose line ends in '=' is not quoted-printable.
  assert.deepEqual(kernelLogLines("[ 0.1] foo=\n[ 0.2] bar\n"), [
    "foo=",
    "bar",
  ]);
});

Deno.test("e820 from 3.x kernels before 4.1: '[mem …]' with the type bare", () => {
  const log = parseE820(
    [
      "e820: BIOS-provided physical RAM map:",
      "BIOS-e820: [mem 0x0000000000000000-0x000000000009fbff] usable",
      "BIOS-e820: [mem 0x0000000100000000-0x000000013fffffff] type 12",
    ].join("\n"),
  );
  assert.deepEqual(pmem(finalTable(log)), [[0x100000000, 0x13fffffff, 12]]);
});
