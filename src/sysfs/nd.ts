/**
 * libnvdimm in sysfs (`/sys/bus/nd/devices`): buses, regions and the
 * namespaces in them, described the way `ndctl list` describes them
 * (mode, map, size, blockdev or chardev, align). Seed devices (empty
 * pfn/dax/btt and zero-size namespaces) are left out, as ndctl does.
 *
 * @module
 */

import type { SystemRoot } from "./root.ts";

const ND = "/sys/bus/nd/devices";

/** A namespace as ndctl shows it. */
export interface NdNamespace {
  dev: string;
  region: string;
  /** `raw`, `fsdax`, `devdax`, `sector`, or the kernel's word when unknown. */
  mode: string;
  /** Where the struct pages live (`mem` or `dev`), for fsdax and devdax. */
  map?: "mem" | "dev";
  /** Usable bytes: the pfn/dax/btt device's size when one holds the namespace. */
  size: number;
  /** Physical address of the namespace, when readable. */
  start?: number;
  uuid?: string;
  align?: number;
  blockdev?: string;
  chardev?: string;
  /** The pfn/dax/btt device holding it. */
  holder?: string;
  /** The driver bound to it (or to its holder). */
  driver?: string;
  /** The label's name (`ndctl create-namespace -n`), for labelled namespaces. */
  name?: string;
  /** The logical sector size: the btt's for sector mode, else the namespace's. */
  sectorSize?: number;
}

/** A region with its namespaces. */
export interface NdRegion {
  dev: string;
  bus: string;
  /** The bus provider: `e820` for memmap= and type-12, `ACPI.NFIT` for NVDIMMs. */
  provider: string;
  size: number;
  /** Physical start, when readable (root-only on some kernels). */
  start?: number;
  /** `cpu_cache`, `memory_controller`, or `unknown` (absent or empty, as ndctl says). */
  persistenceDomain: string;
  align?: number;
  /** Bad 512-byte sectors the region knows of. */
  badblockCount: number;
  /** Capacity not yet given to a namespace (labelled regions), and its largest free extent. */
  availableSize?: number;
  maxAvailableExtent?: number;
  namespaces: NdNamespace[];
}

/** The chosen value of a sysfs list like `512 [4096]`, or the value itself. */
export function selected(text: string | undefined): number | undefined {
  if (!text) return undefined;
  const pick = text.match(/\[(\d+)\]/)?.[1] ?? text.trim().split(/\s+/)[0];
  const n = Number(pick);
  return Number.isSafeInteger(n) && n > 0 ? n : undefined;
}

const MODES: Record<string, string> = {
  raw: "raw",
  memory: "fsdax",
  dax: "devdax",
  safe: "sector",
};

/** A badblocks file (`<sector> <count>` lines, 512-byte sectors) as byte ranges. */
export function parseBadblocks(
  text: string | undefined,
): BadRange[] {
  const out: BadRange[] = [];
  for (const line of (text ?? "").split("\n")) {
    const m = line.trim().match(/^(\d+)\s+(\d+)$/);
    if (!m) continue;
    const sector = Number(m[1]);
    const count = Number(m[2]);
    // An entry past 2^53 bytes lies beyond any device pmemctl can address.
    if (!Number.isSafeInteger((sector + count) * 512)) continue;
    out.push({
      start: sector * 512,
      end: (sector + count) * 512,
      sector,
      count,
    });
  }
  return out;
}

/** A known bad byte range of a device, and the badblocks entry it comes from. */
export interface BadRange {
  /** Byte offsets in the device, end exclusive. */
  start: number;
  end: number;
  /** The entry: first 512-byte sector and count, in the file's own frame. */
  sector: number;
  count: number;
}

/** The libnvdimm region (`region0`) a resolved sysfs path lies under, if any. */
export function regionInPath(path: string | undefined): string | undefined {
  return path?.split("/").filter((p) => /^region\d+$/.test(p)).pop();
}

/** One physical extent of a device-DAX (`mappingN`: start, end exclusive, page_offset in 4 KiB pages). */
export interface DaxExtent {
  start: number;
  end: number;
  pageOffset: number;
}

/**
 * A device-DAX's known bad byte ranges: the region's badblocks (sectors from
 * the region's start) placed on the device's physical extents. Entries in
 * the namespace's info block or reserve, outside every extent, are dropped.
 */
export function daxBadRanges(
  regionStart: number,
  regionBadblocks: string | undefined,
  extents: DaxExtent[],
): BadRange[] {
  const out: BadRange[] = [];
  for (const b of parseBadblocks(regionBadblocks)) {
    const from = regionStart + b.start;
    const to = regionStart + b.end;
    for (const e of extents) {
      const lo = Math.max(from, e.start);
      const hi = Math.min(to, e.end);
      if (lo >= hi) continue;
      const base = e.pageOffset * 4096 - e.start;
      out.push({
        start: base + lo,
        end: base + hi,
        sector: b.sector,
        count: b.count,
      });
    }
  }
  return out.sort((a, b) => a.start - b.start);
}

/**
 * Reads {@link daxBadRanges} for device-DAX `name` (`dax0.0`) from sysfs:
 * its region's resource and badblocks, and its `mappingN` extents (or its
 * `resource` and `size` on kernels without them). Empty for device-DAX
 * outside libnvdimm (no region) or when the region keeps no list.
 */
export function readDaxBadRanges(
  sys: SystemRoot,
  name: string,
): { region?: string; ranges: BadRange[] } {
  const dir = sys.realPath(`/sys/bus/dax/devices/${name}`);
  const region = regionInPath(dir);
  if (!dir || !region) return { ranges: [] };
  const regionStart = sys.number(`/sys/bus/nd/devices/${region}/resource`);
  const text = sys.text(`/sys/bus/nd/devices/${region}/badblocks`);
  if (regionStart === undefined || !text?.trim()) return { region, ranges: [] };
  const extents: DaxExtent[] = [];
  for (const entry of sys.list(dir).filter((e) => /^mapping\d+$/.test(e))) {
    const start = sys.number(`${dir}/${entry}/start`);
    const end = sys.number(`${dir}/${entry}/end`);
    const pageOffset = sys.number(`${dir}/${entry}/page_offset`);
    if (start === undefined || end === undefined) continue;
    extents.push({ start, end: end + 1, pageOffset: pageOffset ?? 0 });
  }
  if (extents.length === 0) {
    const start = sys.number(`${dir}/resource`);
    const size = sys.number(`${dir}/size`);
    if (start !== undefined && size !== undefined) {
      extents.push({ start, end: start + size, pageOffset: 0 });
    }
  }
  return { region, ranges: daxBadRanges(regionStart, text, extents) };
}

/** Sums the lengths of a badblocks file, in sectors. */
export function badblockCount(text: string | undefined): number {
  return parseBadblocks(text).reduce((n, b) => n + b.count, 0);
}

function mapOf(mode: string | undefined): "mem" | "dev" | undefined {
  return mode === "ram" ? "mem" : mode === "pmem" ? "dev" : undefined;
}

function readNamespace(
  sys: SystemRoot,
  dev: string,
  region: string,
): NdNamespace | undefined {
  const dir = `${ND}/${dev}`;
  const size = sys.number(`${dir}/size`) ?? 0;
  if (size === 0) return undefined; // an idle seed namespace
  const kernelMode = sys.attr(`${dir}/mode`) ?? "raw";
  const ns: NdNamespace = {
    dev,
    region,
    mode: MODES[kernelMode] ?? kernelMode,
    size,
    start: sys.number(`${dir}/resource`),
    uuid: sys.attr(`${dir}/uuid`) || undefined,
    driver: sys.linkName(`${dir}/driver`),
    name: sys.attr(`${dir}/alt_name`) || undefined,
    sectorSize: selected(sys.attr(`${dir}/sector_size`)),
  };
  const holder = sys.attr(`${dir}/holder`) || undefined;
  const first = (path: string) =>
    sys.list(path).find((n) => !n.startsWith("."));
  if (holder) {
    const h = `${ND}/${holder}`;
    ns.holder = holder;
    ns.size = sys.number(`${h}/size`) ?? size;
    // As ndctl: the info block's uuid (pfn, btt, dax), and the btt's sector size.
    ns.uuid = sys.attr(`${h}/uuid`) || ns.uuid;
    if (holder.startsWith("btt")) {
      ns.sectorSize = selected(sys.attr(`${h}/sector_size`));
    }
    if (holder.startsWith("dax")) ns.sectorSize = undefined;
    ns.align = sys.number(`${h}/align`);
    ns.driver = sys.linkName(`${h}/driver`) ?? ns.driver;
    if (holder.startsWith("dax")) {
      ns.map = mapOf(sys.attr(`${h}/mode`));
      ns.chardev = sys.list(h).find((n) => /^dax\d+\.\d+$/.test(n));
    } else {
      if (holder.startsWith("pfn")) ns.map = mapOf(sys.attr(`${h}/mode`));
      ns.blockdev = first(`${h}/block`);
    }
  } else {
    // An fsdax namespace with no pfn device (e820): the kernel's own pages.
    if (ns.mode === "fsdax") ns.map = "mem";
    ns.blockdev = first(`${dir}/block`);
  }
  return ns;
}

/** Every libnvdimm region under the root, with its namespaces. */
export function readNdRegions(sys: SystemRoot): NdRegion[] {
  const names = sys.list(ND);
  const regions: NdRegion[] = [];
  // Each namespace's region, resolved once: the parent directory of its link's target.
  const byRegion = new Map<string, string[]>();
  for (const ns of names.filter((n) => /^namespace\d+\.\d+$/.test(n))) {
    const parent = sys.realPath(`${ND}/${ns}`)?.split("/").slice(-2, -1)[0] ??
      "";
    byRegion.set(parent, [...(byRegion.get(parent) ?? []), ns]);
  }
  for (const dev of names.filter((n) => /^region\d+$/.test(n))) {
    const dir = `${ND}/${dev}`;
    const bus = sys.realPath(dir)?.split("/").slice(-2, -1)[0] ?? "";
    const domain = sys.attr(`${dir}/persistence_domain`)?.trim();
    const region: NdRegion = {
      dev,
      bus,
      provider: sys.attr(`${ND}/${bus}/provider`) ?? "",
      size: sys.number(`${dir}/size`) ?? 0,
      start: sys.number(`${dir}/resource`),
      persistenceDomain: domain ? domain : "unknown",
      align: sys.number(`${dir}/align`),
      badblockCount: badblockCount(sys.text(`${dir}/badblocks`)),
      availableSize: sys.number(`${dir}/available_size`),
      maxAvailableExtent: sys.number(`${dir}/max_available_extent`),
      namespaces: [],
    };
    for (const ns of byRegion.get(dev) ?? []) {
      const namespace = readNamespace(sys, ns, dev);
      if (namespace) region.namespaces.push(namespace);
    }
    regions.push(region);
  }
  return regions;
}
