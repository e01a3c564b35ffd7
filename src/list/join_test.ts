/**
 * How the join grows with the machine: ranges from every source, namespaces
 * with block and DAX devices and mounts. Quadratic lookups made 200k ranges
 * take minutes; each size here is 4× the last, so linear-ish time grows ~4×
 * and quadratic ~16×.
 */
import assert from "node:assert/strict";
import { parseE820 } from "../parse/e820.ts";
import { parseIomem } from "../parse/iomem.ts";
import { parseMountinfo } from "../parse/mountinfo.ts";
import type { DaxDevice, PmemBlock } from "../sysfs/block.ts";
import type { NdRegion } from "../sysfs/nd.ts";
import { joinRegions, type Observations } from "./join.ts";

const STEP = 0x200000;
const BASE = 0x100000000;
const hex16 = (n: number) => n.toString(16).padStart(16, "0");

/** `ranges` type-12 ranges in the log and iomem, `namespaces` of them with an nd region, a block or DAX device and a mount. */
function machine(
  ranges: number,
  namespaces: number,
  reversed = false,
): Observations {
  const log = ["BIOS-provided physical RAM map:"];
  const iomem: string[] = [];
  const nd: NdRegion[] = [];
  const blocks: PmemBlock[] = [];
  const dax: DaxDevice[] = [];
  const mounts: string[] = [];
  for (let i = 0; i < ranges; i++) {
    const s = BASE + i * STEP, e = s + STEP - 1;
    log.push(
      `BIOS-e820: [mem 0x${hex16(s)}-0x${hex16(e)}] persistent (type 12)`,
    );
    iomem.push(
      `${s.toString(16)}-${e.toString(16)} : Persistent Memory (legacy)`,
    );
    if (i >= namespaces) continue;
    const devdax = i % 2 === 1;
    iomem.push(`  ${s.toString(16)}-${e.toString(16)} : namespace${i}.0`);
    nd.push({
      dev: `region${i}`,
      bus: "ndbus0",
      provider: "e820",
      size: STEP,
      start: s,
      persistenceDomain: "unknown",
      badblockCount: 0,
      namespaces: [{
        dev: `namespace${i}.0`,
        region: `region${i}`,
        mode: devdax ? "devdax" : "fsdax",
        size: STEP,
        ...(devdax ? { chardev: `dax${i}.0` } : { blockdev: `pmem${i}` }),
      }],
    });
    if (devdax) {
      dax.push({
        name: `dax${i}.0`,
        size: STEP,
        region: `region${i}`,
        node: true,
      });
    } else {
      blocks.push({
        name: `pmem${i}`,
        size: STEP,
        readOnly: false,
        dax: true,
        badblockCount: 0,
        major: 259,
        minor: i,
        node: true,
        partitions: [],
      });
      mounts.push(
        `${
          100 + i
        } 1 259:${i} / /mnt/p${i} rw - ext4 /dev/pmem${i} rw,dax=always`,
      );
    }
  }
  if (reversed) log.splice(1, log.length - 1, ...log.slice(1).reverse());
  return {
    e820: parseE820(log.join("\n")),
    iomem: parseIomem(iomem.join("\n")),
    nd,
    blocks,
    dax,
    mounts: parseMountinfo(mounts.join("\n")),
  };
}

function seconds(obs: Observations): number {
  const t0 = performance.now();
  const result = joinRegions(obs);
  const t = (performance.now() - t0) / 1000;
  assert.equal(result.failed, 0);
  return t;
}

Deno.test("list's join grows linearly with ranges and namespaces", () => {
  const small = machine(10_000, 2_500);
  const large = machine(40_000, 10_000);
  const result = joinRegions(small);
  assert.equal(result.regions.length, 10_000);
  assert.deepEqual(result.regions[2].sources, ["e820", "iomem", "nd", "block"]);
  assert.equal(result.regions[2].namespaces[0].mounts?.[0].path, "/mnt/p2");
  assert.equal(result.regions[3].namespaces[0].daxdev?.chardev, "dax3.0");
  assert.equal(result.regions[9_000].claimed_by, null);
  // Best of three each, against a scheduler that may be busy.
  const t1 = Math.min(seconds(small), seconds(small), seconds(small));
  const t4 = Math.min(seconds(large), seconds(large), seconds(large));
  assert.ok(
    t4 < 8 * t1 + 0.05,
    `4× the ranges took ${(t4 / t1).toFixed(1)}× the time (${
      t1.toFixed(3)
    } s, ${t4.toFixed(3)} s)`,
  );
  assert.ok(t4 < 2, `40k ranges took ${t4.toFixed(2)} s`);
  // A log out of address order costs no more.
  const backwards = seconds(machine(40_000, 10_000, true));
  assert.ok(
    backwards < 2,
    `40k ranges backwards took ${backwards.toFixed(2)} s`,
  );
});

Deno.test("list's join takes a damaged iomem whose top-level namespaces overlap: the first holds, no exception", () => {
  // Found by the property test (a mutated iomem): DisjointRanges threw.
  const obs: Observations = {
    e820: parseE820(
      "BIOS-e820: [mem 0x0000000040000000-0x0000000047ffffff] persistent (type 12)",
    ),
    iomem: parseIomem(
      [
        "40000000-47ffffff : namespace0.0",
        "00-47ffffff : namespace1.0",
      ].join("\n"),
    ),
    nd: [],
    blocks: [],
    dax: [],
    mounts: [],
  };
  const result = joinRegions(obs);
  assert.equal(result.regions.length, 1);
  assert.deepEqual(result.regions[0].claimed_by, "namespace0.0");
});
