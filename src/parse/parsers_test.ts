import assert from "node:assert/strict";
import { parseMemmap } from "./cmdline.ts";
import { e820TypeFromResourceName } from "./e820_types.ts";
import { parseFirmwareMemmap } from "./firmware_memmap.ts";
import { iomemNodes, parseIomem } from "./iomem.ts";
import { parseMountinfo } from "./mountinfo.ts";

const FIXTURES = new URL("../../tests/fixtures/", import.meta.url).pathname;
const fixture = (path: string) => Deno.readTextFileSync(`${FIXTURES}${path}`);

Deno.test("iomem: the legacy guest's tree, with nd_pmem's claim under the type-12 range", () => {
  const iomem = parseIomem(fixture("legacy/proc/iomem"));
  assert.equal(iomem.hidden, false);
  const pmem = iomem.roots.filter((n) =>
    e820TypeFromResourceName(n.name) === 12
  );
  assert.deepEqual(pmem.map((n) => [n.start, n.end, n.name]), [[
    0x40000000,
    0x4fffffff,
    "Persistent Memory (legacy)",
  ]]);
  assert.deepEqual(pmem[0].children.map((c) => c.name), ["namespace0.0"]);
  // Kernel code sits inside System RAM, one level down.
  const ram = iomem.roots.find((n) =>
    n.name === "System RAM" && n.children.length > 0
  )!;
  assert.ok(ram.children.some((c) => c.name === "Kernel code"));
});

Deno.test("iomem: devdax claims with two children; NFIT ranges are 'Persistent Memory' (type 7)", () => {
  const iomem = parseIomem(fixture("nfit-devdax/proc/iomem"));
  const pmem = iomem.roots.find((n) => n.name === "Persistent Memory")!;
  assert.deepEqual([pmem.start, pmem.end], [0x100000000, 0x11fffffff]);
  assert.equal(e820TypeFromResourceName(pmem.name), 7);
  assert.deepEqual(pmem.children.map((c) => [c.name, c.start, c.end]), [
    ["namespace0.0", 0x100000000, 0x1009fffff],
    ["dax0.0", 0x100a00000, 0x11fffffff],
  ]);
});

Deno.test("iomem read without privilege: every address zero, detected", () => {
  const iomem = parseIomem(fixture("legacy/proc/iomem.nonroot"));
  assert.equal(iomem.hidden, true);
  assert.ok(
    iomemNodes(iomem).some((n) => n.name === "Persistent Memory (legacy)"),
  );
});

Deno.test("iomem: the v4.1 name 'Persistent RAM' is type 12; deep nesting; junk lines skipped", () => {
  const text = [
    "00000000-00000fff : reserved",
    "40000000-4fffffff : Persistent RAM",
    "  40000000-4fffffff : pmem_legacy",
    "    40000000-40000fff : deeper",
    "garbage line",
    "50000000-5fffffff : System RAM",
  ].join("\n");
  const iomem = parseIomem(text);
  assert.equal(iomem.roots.length, 3);
  assert.equal(e820TypeFromResourceName(iomem.roots[1].name), 12);
  assert.equal(iomem.roots[1].children[0].children[0].name, "deeper");
  assert.equal(iomem.roots[2].children.length, 0);
  assert.deepEqual(parseIomem(""), { roots: [], hidden: false, warnings: [] });
});

Deno.test("memmap= from the guests' command lines", () => {
  assert.deepEqual(parseMemmap(fixture("legacy/proc/cmdline")), {
    requests: [{
      text: "256M!1G",
      kind: "pmem",
      size: 256 << 20,
      start: 1 << 30,
      type: 12,
    }],
    errors: [],
  });
  const two = parseMemmap(fixture("legacy2/proc/cmdline"));
  assert.deepEqual(two.requests.map((r) => [r.size, r.start]), [[
    128 << 20,
    1 << 30,
  ], [64 << 20, 0x60000000]]);
  assert.deepEqual(parseMemmap(fixture("nfit-raw/proc/cmdline")), {
    requests: [],
    errors: [],
  });
});

Deno.test("memmap= in every form the kernel accepts", () => {
  const { requests, errors } = parseMemmap(
    'BOOT_IMAGE=/vmlinuz memmap=4G!12G,1G$0x2000000000 memmap=64K#0x7ff00000 "memmap=100M@2G" ' +
      "memmap=16M%0x50000000-1+12 memmap=16M%0x51000000+12 memmap=exactmap memmap=2G memmap=010M!0x100000000 " +
      "memmap=1T!1P",
  );
  assert.deepEqual(errors, []);
  assert.deepEqual(
    requests.map((r) => [r.kind, r.size, r.start, r.type ?? null]),
    [
      ["pmem", 4 * 2 ** 30, 12 * 2 ** 30, 12],
      ["reserved", 2 ** 30, 0x2000000000, 2],
      ["acpi", 64 * 1024, 0x7ff00000, 3],
      ["ram", 100 * 2 ** 20, 2 * 2 ** 30, 1],
      ["retype", 16 * 2 ** 20, 0x50000000, null],
      ["retype", 16 * 2 ** 20, 0x51000000, null],
      ["exactmap", undefined, undefined, null],
      ["limit", 2 * 2 ** 30, undefined, null],
      ["pmem", 8 * 2 ** 20, 0x100000000, 12], // memparse is base 0: 010 is octal
      ["pmem", 2 ** 40, 2 ** 50, 12],
    ],
  );
  assert.deepEqual([requests[4].fromType, requests[4].toType], [1, 12]);
  assert.deepEqual([requests[5].fromType, requests[5].toType], [0, 12]);
});

Deno.test("memmap= the kernel would refuse is reported with a reason", () => {
  const { requests, errors } = parseMemmap(
    "memmap=256M!1G memmap=abc memmap=256M!1Gx memmap=256M^1G memmap=256M! memmap=4G\\$4G memmap= memmap=1M%2M-1x",
  );
  assert.equal(requests.length, 1);
  assert.deepEqual(errors.map((e) => e.text), [
    "abc",
    "256M!1Gx",
    "256M^1G",
    "256M!",
    "4G\\$4G",
    "memmap=",
    "1M%2M-1x",
  ]);
  assert.match(errors[4].reason, /'\\' before '\$' reached the kernel/);
  assert.match(errors[2].reason, /unknown operator '\^'/);
});

Deno.test("mountinfo: the DAX mount in the fsdax guest", () => {
  const mounts = parseMountinfo(
    fixture("nfit-fsdax-mounted/proc/self/mountinfo"),
  );
  const pmem = mounts.find((m) => m.mountPoint === "/mnt/pmem")!;
  assert.deepEqual(
    [pmem.major, pmem.minor, pmem.fsType, pmem.source, pmem.dax],
    [259, 0, "ext4", "/dev/pmem0", "always"],
  );
  assert.equal(mounts.find((m) => m.fsType === "proc")!.dax, null);
});

Deno.test("mountinfo: dax options, optional fields, escaped paths", () => {
  const text = [
    "36 35 259:0 / /mnt/my\\040pmem rw,noatime shared:1 master:2 - ext4 /dev/pmem0 rw,dax=never",
    "37 35 259:1 / /mnt/b rw - xfs /dev/pmem1 rw,attr2,dax",
    "38 35 259:2 / /mnt/c rw - ext4 /dev/pmem2 rw",
    "39 35 259:3 / /mnt/d rw - ext4 /dev/pmem3 rw,dax=inode",
    "not a mount line",
  ].join("\n");
  const mounts = parseMountinfo(text);
  assert.deepEqual(mounts.map((m) => [m.mountPoint, m.dax]), [
    ["/mnt/my pmem", "never"],
    ["/mnt/b", "always"],
    ["/mnt/c", "inode"], // ext4's default when no dax option is given
    ["/mnt/d", "inode"],
  ]);
});

Deno.test("firmware memmap from the guest: no memmap= entries, NFIT absent", () => {
  const dir = `${FIXTURES}legacy/sys/firmware/memmap`;
  const dirs = [...Deno.readDirSync(dir)].map((e) => ({
    index: Number(e.name),
    start: Deno.readTextFileSync(`${dir}/${e.name}/start`),
    end: Deno.readTextFileSync(`${dir}/${e.name}/end`),
    type: Deno.readTextFileSync(`${dir}/${e.name}/type`),
  }));
  const entries = parseFirmwareMemmap(dirs);
  assert.equal(entries.length, 7);
  assert.deepEqual(entries[0], {
    index: 0,
    start: 0,
    end: 0x9fbff,
    typeName: "System RAM",
    type: 1,
  });
  assert.ok(entries.every((e) => e.type !== 12 && e.type !== 7));
});
