import assert from "node:assert/strict";
import { readDaxDevices, readPmemBlocks } from "./block.ts";
import {
  badblockCount,
  daxBadRanges,
  parseBadblocks,
  readDaxBadRanges,
  readNdRegions,
} from "./nd.ts";
import { naturalCompare, SystemRoot } from "./root.ts";

const FIXTURES = new URL("../../tests/fixtures/", import.meta.url).pathname;
const SCENARIOS = [...Deno.readDirSync(FIXTURES)]
  .filter((e) => e.isDirectory && e.name !== "logs" && e.name !== "faults")
  .map((e) => e.name)
  .sort();

interface NdctlNamespace {
  dev: string;
  mode: string;
  map?: string;
  size: number;
  blockdev?: string;
  chardev?: string;
  align?: number;
}

/** What `ndctl list -NRDB` said in the guest, as region → its persistence domain and namespaces. */
function ndctlView(
  scenario: string,
): Map<string, { domain: string; namespaces: NdctlNamespace[] }> {
  // Empty where there is no libnvdimm bus (soft-reserved memory only).
  const text = Deno.readTextFileSync(`${FIXTURES}${scenario}/ndctl-list.json`)
    .trim();
  const raw = text ? JSON.parse(text) : [];
  const buses = Array.isArray(raw) ? raw : [raw];
  const out = new Map<
    string,
    { domain: string; namespaces: NdctlNamespace[] }
  >();
  for (const bus of buses) {
    for (const region of bus.regions ?? []) {
      out.set(region.dev, {
        domain: region.persistence_domain,
        namespaces: region.namespaces ?? [],
      });
    }
  }
  return out;
}

/** The fields ndctl and the reader must agree on, absent ones left out. */
function identity(n: NdctlNamespace): Partial<NdctlNamespace> {
  const out: Partial<NdctlNamespace> = {
    dev: n.dev,
    mode: n.mode,
    size: n.size,
  };
  for (const key of ["map", "blockdev", "chardev", "align"] as const) {
    if (n[key]) Object.assign(out, { [key]: n[key] });
  }
  return out;
}

for (const scenario of SCENARIOS) {
  Deno.test(`nd reader on ${scenario} agrees with ndctl list`, () => {
    const regions = readNdRegions(new SystemRoot(`${FIXTURES}${scenario}`));
    const ndctl = ndctlView(scenario);
    assert.deepEqual(
      regions.map((r) => r.dev).sort(),
      [...ndctl.keys()].sort(),
    );
    for (const region of regions) {
      const { domain, namespaces: want } = ndctl.get(region.dev)!;
      // e820 regions have no such file, and ndctl says "unknown"; a CXL
      // region's is the memory controller.
      assert.equal(region.persistenceDomain, domain);
      assert.ok(region.start !== undefined && region.size > 0);
      // ndctl prints align only where a pfn or dax device sets it.
      // ndctl lists a labelled region's namespaces newest first.
      const byDev = (a: { dev?: string }, b: { dev?: string }) =>
        (a.dev ?? "") < (b.dev ?? "") ? -1 : 1;
      assert.deepEqual(
        region.namespaces.map((n) =>
          identity({ ...n, align: n.holder ? n.align : undefined })
        ).sort(byDev),
        want.map(identity).sort(byDev),
        `${scenario} ${region.dev}`,
      );
    }
  });
}

Deno.test("nd reader: providers, addresses and buses of the mixed guest", () => {
  const regions = readNdRegions(new SystemRoot(`${FIXTURES}nfit+legacy`));
  assert.deepEqual(
    regions.map((r) => [r.dev, r.bus, r.provider, r.start, r.size]),
    [
      ["region0", "ndbus0", "e820", 0x40000000, 256 << 20],
      ["region1", "ndbus1", "ACPI.NFIT", 0x100000000, 512 << 20],
    ],
  );
});

Deno.test("block and dax readers on the captured guests", () => {
  const legacy = readPmemBlocks(new SystemRoot(`${FIXTURES}legacy`));
  assert.deepEqual(legacy, [{
    name: "pmem0",
    size: 256 << 20,
    readOnly: false,
    dax: true,
    badblockCount: 0,
    major: 259,
    minor: 0,
    node: true,
    partitions: [],
  }]);
  assert.deepEqual(readDaxDevices(new SystemRoot(`${FIXTURES}legacy`)), []);
  const dax = readDaxDevices(new SystemRoot(`${FIXTURES}nfit-devdax`));
  assert.deepEqual(dax, [{
    name: "dax0.0",
    size: 526385152,
    align: 2097152,
    targetNode: 0,
    numaNode: 0,
    region: "region0",
    node: true,
    driver: "device_dax",
  }]);
  assert.deepEqual(
    readPmemBlocks(new SystemRoot(`${FIXTURES}nfit-devdax`)),
    [],
  );
});

Deno.test("a missing root reads as empty, not as an error", () => {
  const sys = new SystemRoot("/nonexistent-pmemctl-root");
  assert.deepEqual(readNdRegions(sys), []);
  assert.deepEqual(readPmemBlocks(sys), []);
  assert.equal(sys.text("/proc/iomem"), undefined);
});

Deno.test("badblocks: lengths of '<sector> <count>' lines add up", () => {
  assert.equal(badblockCount("8 8\n1024 1\n"), 9);
  assert.equal(badblockCount(""), 0);
  assert.equal(badblockCount(undefined), 0);
});

Deno.test("natural order: region2 before region10, namespace1.2 before namespace1.10", () => {
  const names = [
    "region10",
    "region2",
    "namespace1.10",
    "namespace1.2",
    "ndbus0",
    "region1",
  ];
  assert.deepEqual(names.sort(naturalCompare), [
    "namespace1.2",
    "namespace1.10",
    "ndbus0",
    "region1",
    "region2",
    "region10",
  ]);
});

Deno.test("badblocks as byte ranges", () => {
  assert.deepEqual(parseBadblocks("8 8\n1024 1\njunk\n"), [
    { start: 4096, end: 8192, sector: 8, count: 8 },
    { start: 524288, end: 524800, sector: 1024, count: 1 },
  ]);
});

Deno.test("device-DAX bad ranges: the region's badblocks placed on the device's extent (nfit-devdax)", () => {
  // The captured tree with badblocks written into region0: the device's data
  // starts 10 MiB (sector 20480) into the region, after the info block and
  // struct-page reserve.
  const root = Deno.makeTempDirSync({ prefix: "pmemctl-daxbb-" });
  try {
    const copy = new Deno.Command("cp", {
      args: ["-a", `${FIXTURES}nfit-devdax/.`, root],
    }).outputSync();
    assert.ok(copy.success);
    const region =
      `${root}/sys/devices/LNXSYSTM:00/LNXSYBUS:00/ACPI0012:00/ndbus0/region0`;
    Deno.writeTextFileSync(
      `${region}/badblocks`,
      // in the reserve; straddling the data start; 500 MiB into the device
      "8 8\n20472 16\n1044480 8\n",
    );
    const sys = new SystemRoot(root);
    const { region: name, ranges } = readDaxBadRanges(sys, "dax0.0");
    assert.equal(name, "region0");
    assert.deepEqual(ranges, [
      { start: 0, end: 4096, sector: 20472, count: 16 },
      {
        start: 500 * 2 ** 20,
        end: 500 * 2 ** 20 + 4096,
        sector: 1044480,
        count: 8,
      },
    ]);
    // The captured (empty) list gives nothing.
    assert.deepEqual(
      readDaxBadRanges(new SystemRoot(`${FIXTURES}nfit-devdax`), "dax0.0"),
      { region: "region0", ranges: [] },
    );
  } finally {
    Deno.removeSync(root, { recursive: true });
  }
});

Deno.test("daxBadRanges: several extents with page offsets; no extent, no range", () => {
  const extents = [
    { start: 0x2000_0000, end: 0x2010_0000, pageOffset: 0 },
    { start: 0x3000_0000, end: 0x3010_0000, pageOffset: 0x100 },
  ];
  // Region at 0x1000_0000: sector 0x80000 is 0x2000_0000 (extent 1, page 0);
  // sector 0x100000 is 0x3000_0000 (extent 2, device offset 1 MiB).
  assert.deepEqual(
    daxBadRanges(0x1000_0000, "1048576 2\n524288 1\n16 1\n", extents),
    [
      { start: 0, end: 512, sector: 524288, count: 1 },
      { start: 0x10_0000, end: 0x10_0400, sector: 1048576, count: 2 },
    ],
  );
  assert.deepEqual(daxBadRanges(0, "1 1\n", []), []);
});
