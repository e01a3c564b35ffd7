/**
 * The join behind `pmemctl list`: one region per physical range, with every
 * source that saw it, what claims it, its namespaces and their mounts, and
 * warnings for what the sources disagree on. A pure function of what the
 * sources said.
 *
 * @module
 */

import { excerpt } from "../parse/numbers.ts";
import { type E820Entry, type E820Log, finalTable } from "../parse/e820.ts";
import {
  E820_PMEM,
  E820_PRAM,
  E820_SOFT_RESERVED,
  e820TypeFromResourceName,
  isPmemType,
} from "../parse/e820_types.ts";
import type { FirmwareMemmapEntry } from "../parse/firmware_memmap.ts";
import { type Iomem, type IomemNode, iomemNodes } from "../parse/iomem.ts";
import type { MemmapParse } from "../parse/cmdline.ts";
import type { DaxOption, Mount } from "../parse/mountinfo.ts";
import type { DaxDevice, PmemBlock } from "../sysfs/block.ts";
import type { CxlView } from "../sysfs/cxl.ts";
import type { NdRegion } from "../sysfs/nd.ts";
import { hex, sizeText } from "../units.ts";
import { DisjointRanges, overlap } from "./ranges.ts";

/** Where a region was seen. */
export type Source =
  | "cmdline"
  | "e820"
  | "iomem"
  | "firmware_memmap"
  | "nd"
  | "block"
  | "dax";

/** Everything the sources said; a source that could not be read is undefined. */
export interface Observations {
  e820?: E820Log;
  memmap?: MemmapParse;
  iomem?: Iomem;
  firmwareMemmap?: FirmwareMemmapEntry[];
  nd: NdRegion[];
  blocks: PmemBlock[];
  dax: DaxDevice[];
  mounts: Mount[];
  /** /sys/bus/cxl, where the machine has a CXL bus. */
  cxl?: CxlView;
}

/** A mount of a namespace's block device. */
export interface NamespaceMount {
  path: string;
  fstype: string;
  /** What the mount asks for (its dax option, or the filesystem's default). */
  dax: DaxOption | null;
  /**
   * What files get: `always` or `inode` where the device can map its pages
   * directly, `never` where it cannot (sector mode, a partition of a device
   * without DAX) or the mount says so.
   */
  dax_effective: DaxOption | null;
}

/** A namespace as `list --json` prints it. */
export interface ListNamespace {
  dev: string;
  mode: string;
  map?: "mem" | "dev";
  size: number;
  uuid?: string;
  /** The label's name, as ndctl shows it. */
  name?: string;
  sector_size?: number;
  blockdev?: string;
  chardev?: string;
  align?: number;
  /** Whether mappings bypass the page cache (block `queue/dax`, or device-DAX). */
  dax: boolean;
  badblock_count: number;
  mounts?: NamespaceMount[];
  /** A device-DAX namespace's device as `daxctl list` shows it (its keys). */
  daxdev?: DaxDevView;
  /** `list --probe`: what its first bytes hold (see probe.ts). */
  content?: string;
  stamp?: { seed: number; time: string; offset: number; length: number };
  pool?: string;
  error?: string;
  /** Partitions of its block device, each with its mounts. */
  partitions?: {
    name: string;
    start: number;
    size: number;
    mounts: NamespaceMount[];
    content?: string;
  }[];
}

/** A device-DAX, in daxctl's words: `mode` is `devdax`, or `system-ram` for memory given to the kernel (kmem). */
export interface DaxDevView {
  chardev: string;
  size: number;
  target_node?: number;
  numa_node?: number;
  align?: number;
  mode: "devdax" | "system-ram";
  online_memblocks?: number;
  total_memblocks?: number;
  movable?: boolean;
  /** What /proc/iomem says holds its range: `System RAM (kmem)` in system-ram mode. */
  claimed_by?: string;
}

/** A region as `list --json` prints it (spec keys, then extras). */
export interface ListRegion {
  start: number | null;
  end: number | null;
  size: number;
  e820_type: number | null;
  sources: Source[];
  claimed_by: string | null;
  persistence_domain: string;
  namespaces: ListNamespace[];
  /**
   * Who provides it: the libnvdimm bus's provider (`e820`, `ACPI.NFIT`,
   * `virtio-pmem`, `CXL`, …), else what its e820 type says (`e820` for
   * type 12, `ACPI.NFIT` for 7), or `hmem` for soft-reserved memory.
   */
  provider: string | null;
  /** False for soft-reserved ("specific purpose") memory: its content does not survive. */
  persistent: boolean;
  /** The libnvdimm region (`region0`). */
  nd_region?: string;
  /** For a CXL range: its CXL region and the memory devices behind it. */
  cxl_region?: string;
  memdevs?: string[];
  /** Every claiming iomem child, for ranges held by several (devdax). */
  claims?: { name: string; start: number; end: number }[];
  /** The `memmap=` items that asked for this range. */
  memmap?: string[];
  /** Labelled regions: capacity no namespace holds yet, and its largest extent. */
  available_size?: number;
  max_available_extent?: number;
}

/** The whole answer. */
export interface ListResult {
  regions: ListRegion[];
  /** The CXL side (memdevs, windows, regions), where there is a CXL bus. */
  cxl?: CxlView;
  warnings: string[];
  /** `memmap=` requests that did not become regions: `list` exits 1 when non-zero. */
  failed: number;
}

const SOURCE_ORDER: Source[] = [
  "cmdline",
  "e820",
  "iomem",
  "firmware_memmap",
  "nd",
  "block",
  "dax",
];

interface Draft {
  start: number | null;
  end: number | null;
  size: number;
  type: number | null;
  sources: Set<Source>;
  claims?: { name: string; start: number; end: number }[];
  nd?: NdRegion;
  memmap: string[];
  /** Its place in the order drafts were made. */
  seq: number;
}

const range = (start: number, end: number) => `${hex(start)}-${hex(end)}`;

/** The drafts, and the located ones by address. */
interface Drafts {
  all: Draft[];
  located: DisjointRanges<Draft>;
}

/**
 * Drafts by size, for pairing libnvdimm regions whose address is unreadable:
 * `take` hands out the first of a size and type that has no region yet.
 */
function bySize(all: Draft[]) {
  const sizes = new Map<number, { list: Draft[]; from: number }>();
  for (const d of all) {
    if (d.nd) continue;
    const entry = sizes.get(d.size);
    if (entry) entry.list.push(d);
    else sizes.set(d.size, { list: [d], from: 0 });
  }
  return {
    /** The draft, which the caller gives its region (so it is not handed out twice). */
    take(size: number, type: number | null): Draft | undefined {
      const entry = sizes.get(size);
      if (!entry) return undefined;
      const { list } = entry;
      while (entry.from < list.length && list[entry.from].nd) entry.from++;
      for (let i = entry.from; i < list.length; i++) {
        const d = list[i];
        if (!d.nd && (type === null || d.type === type)) return d;
      }
      return undefined;
    },
  };
}

/** Adds a located range to the drafts, merging with the first placed of those it overlaps. */
function place(
  drafts: Drafts,
  start: number,
  end: number,
  type: number | null,
  source: Source,
): Draft {
  const hit = drafts.located.overlapping({ start, end }).reduce<
    Draft | undefined
  >((first, d) => first && first.seq < d.seq ? first : d, undefined);
  if (hit) {
    hit.sources.add(source);
    hit.type ??= type;
    return hit;
  }
  const draft: Draft = {
    start,
    end,
    size: end - start + 1,
    type,
    sources: new Set([source]),
    memmap: [],
    seq: drafts.all.length,
  };
  drafts.all.push(draft);
  drafts.located.add({ start, end }, draft);
  return draft;
}

/** The types `list` reports: persistent memory (7, 12) and soft-reserved memory. */
function isRegionType(type: number | null): boolean {
  return isPmemType(type) || type === E820_SOFT_RESERVED;
}

/** Who provides a range with no libnvdimm region, by its e820 type. */
function providerOfType(type: number | null): string | null {
  return type === E820_PRAM
    ? "e820"
    : type === E820_PMEM
    ? "ACPI.NFIT"
    : type === E820_SOFT_RESERVED
    ? "hmem"
    : null;
}

function providerType(provider: string): number | null {
  return provider === "e820"
    ? E820_PRAM
    : provider === "ACPI.NFIT"
    ? E820_PMEM
    : null;
}

/** The /dev paths of a region's namespaces (`/dev/pmem0`, `/dev/dax0.0`), or their names when they have none. */
export function namespaceDevices(r: ListRegion): string[] {
  return r.namespaces.map((n) =>
    n.blockdev ? `/dev/${n.blockdev}` : n.chardev ? `/dev/${n.chardev}` : n.dev
  );
}

/**
 * Places every range the sources name, the kernel's resource tree first (its
 * ranges are the ones drivers claim), then the e820 table, the firmware's
 * memmap and libnvdimm's regions.
 */
function placeSources(
  obs: Observations,
  drafts: Drafts,
  e820: E820Entry[],
  iomemUsable: boolean,
): void {
  // iomem's ranges, nested ones too: a CXL window holds its regions' "Persistent Memory",
  // hmem.N its "Soft Reserved" range.
  if (iomemUsable) {
    for (const node of iomemNodes(obs.iomem!)) {
      const type = e820TypeFromResourceName(node.name);
      if (!isRegionType(type)) continue;
      const d = place(drafts, node.start, node.end, type, "iomem");
      d.claims = node.children.map((c) => ({
        name: c.name,
        start: c.start,
        end: c.end,
      }));
    }
  }
  // In address order, as the kernel prints its tables (a log out of order
  // would make every placement an insertion in the middle).
  const byStart = <T extends { start: number }>(list: T[]) =>
    list.toSorted((a, b) => a.start - b.start);
  for (const e of byStart(e820)) {
    if (isRegionType(e.type)) place(drafts, e.start, e.end, e.type, "e820");
  }
  for (const e of byStart(obs.firmwareMemmap ?? [])) {
    if (isPmemType(e.type)) {
      place(drafts, e.start, e.end, e.type, "firmware_memmap");
    }
  }
  const unpaired = bySize(drafts.all);
  for (const region of obs.nd) {
    const type = providerType(region.provider);
    if (region.start !== undefined) {
      place(drafts, region.start, region.start + region.size - 1, type, "nd")
        .nd = region;
      continue;
    }
    // Address unreadable (not root): pair by size with a region of the same type, else unlocated.
    const twin = unpaired.take(region.size, type);
    if (twin) {
      twin.nd = region;
      twin.sources.add("nd");
    } else {
      drafts.all.push({
        start: null,
        end: null,
        size: region.size,
        type,
        sources: new Set(["nd"]),
        nd: region,
        memmap: [],
        seq: drafts.all.length,
      });
    }
  }
}

/**
 * A namespace or device-DAX the kernel put at the top of iomem, with no
 * "Persistent Memory" or "Soft Reserved" range around it (virtio-pmem;
 * soft-reserved memory on 7.x), claims its region all the same.
 */
function claimByTopLevel(obs: Observations, drafts: Drafts): void {
  const tops = new DisjointRanges<IomemNode>();
  for (const n of obs.iomem!.roots) {
    // The kernel's top-level ranges never overlap; in a damaged or edited
    // file they may, and the first one holds.
    if (
      /^(namespace|dax)\d+\.\d+$/.test(n.name) &&
      tops.overlapping(n).length === 0
    ) tops.add(n, n);
  }
  for (const d of drafts.all) {
    if (d.start === null || d.claims?.length) continue;
    const top = tops.overlapping({ start: d.start, end: d.end! })[0];
    if (!top) continue;
    d.claims = [{ name: top.name, start: top.start, end: top.end }];
    d.sources.add("iomem");
  }
}

/**
 * memmap= requests: each pmem one must have become type-12 ranges covering
 * it. Marks the ranges that did, warns about the rest; how many failed.
 */
function checkMemmap(
  obs: Observations,
  drafts: Drafts,
  e820: E820Entry[],
  haveMap: boolean,
  warnings: string[],
): number {
  let failed = 0;
  for (const err of obs.memmap?.errors ?? []) {
    failed++;
    warnings.push(
      `memmap=${
        excerpt(err.text.replace(/^memmap=/, ""))
      } did not become a region: ${excerpt(err.reason, 300)}`,
    );
  }
  for (const req of obs.memmap?.requests ?? []) {
    if (req.kind !== "pmem") continue;
    const want = { start: req.start!, end: req.start! + req.size! - 1 };
    const covering = drafts.located.overlapping(want).filter((d) =>
      d.type === E820_PRAM
    );
    for (const d of covering) {
      d.sources.add("cmdline");
      d.memmap.push(req.text);
    }
    const covered = covering.reduce(
      (n, d) => n + overlap({ start: d.start!, end: d.end! }, want),
      0,
    );
    if (covered === req.size) continue;
    // Without the log and iomem (not root), libnvdimm's e820 region of the
    // requested size is the request, placed: it can only come from a type-12 range.
    const twin = covered === 0 &&
      drafts.all.find((d) =>
        d.start === null && d.nd?.provider === "e820" && d.size === req.size
      );
    if (twin) {
      twin.start = want.start;
      twin.end = want.end;
      if (drafts.located.overlapping(want).length === 0) {
        drafts.located.add(want, twin);
      }
      twin.sources.add("cmdline");
      twin.memmap.push(req.text);
      continue;
    }
    if (!haveMap) {
      warnings.push(
        `memmap=${
          excerpt(req.text)
        } cannot be checked: no e820 table in the kernel log and /proc/iomem is hidden`,
      );
      continue;
    }
    failed++;
    const there = e820.filter((e) =>
      overlap(e, want) > 0 && e.type !== E820_PRAM
    )
      .map((e) => `${excerpt(e.typeText, 40)} at ${range(e.start, e.end)}`);
    const where = there.length > 0
      ? ` (the kernel's map has ${there.join(", ")} there)`
      : "";
    warnings.push(
      covered === 0
        ? `memmap=${excerpt(req.text)} did not become a region: nothing of ${
          range(want.start, want.end)
        } is persistent memory${where}`
        : `memmap=${
          excerpt(req.text)
        } became only ${covered} of ${req.size} bytes of persistent memory${where}`,
    );
  }

  return failed;
}

/** Joins the observations into regions. */
export function joinRegions(obs: Observations): ListResult {
  const warnings: string[] = [];
  const drafts: Drafts = { all: [], located: new DisjointRanges() };
  const iomemUsable = obs.iomem !== undefined && !obs.iomem.hidden;
  const e820 = obs.e820 ? finalTable(obs.e820) : [];
  placeSources(obs, drafts, e820, iomemUsable);
  if (iomemUsable) claimByTopLevel(obs, drafts);
  const failed = checkMemmap(
    obs,
    drafts,
    e820,
    e820.length > 0 || iomemUsable,
    warnings,
  );
  const look = lookups(obs, iomemUsable);
  const regions = drafts.all
    .sort((a, b) => (a.start ?? Infinity) - (b.start ?? Infinity))
    .map((d) => finishRegion(d, look, warnings));
  const cxl = obs.cxl ? joinCxl(obs.cxl, regions, warnings) : undefined;
  return { regions, ...(cxl ? { cxl } : {}), warnings, failed };
}

/**
 * Joins each CXL region to the range libnvdimm made of it (same start), and
 * says which memdevs hold persistent capacity no region uses yet.
 */
function joinCxl(
  view: CxlView,
  regions: ListRegion[],
  warnings: string[],
): CxlView {
  const byStart = new Map<number, ListRegion>();
  for (const r of regions) {
    if (r.start !== null && !byStart.has(r.start)) byStart.set(r.start, r);
  }
  const cxlRegions = view.regions.map((c) => {
    const r = c.start !== null ? byStart.get(c.start) : undefined;
    if (!r) return c;
    r.cxl_region = c.region;
    r.memdevs = c.memdevs;
    return r.nd_region ? { ...c, nd_region: r.nd_region } : c;
  });
  for (const m of view.memdevs) {
    if (m.pmem_free <= 0) continue;
    warnings.push(
      `${m.memdev} has ${
        sizeText(m.pmem_free)
      } of persistent capacity that no CXL region uses: pmemctl plan cxl prints the commands that provision it`,
    );
  }
  return { ...view, regions: cxlRegions };
}

/**
 * The device-DAX instances of a soft-reserved range: those of the hmem.N
 * platform device whose iomem range holds it (dax_hmem), as namespaces.
 */
function softReservedDevices(d: Draft, look: Lookups): ListNamespace[] {
  const owners = d.start !== null
    ? look.hmem.filter((n) => overlap(n, { start: d.start!, end: d.end! }) > 0)
      .map((n) => n.name)
    : [];
  // 6.1 puts hmem.N in iomem around the range; 7.x only the device, whose
  // `resource` says where it is; without either, the size must do.
  const inside = (x: DaxDevice) =>
    x.start !== undefined && d.start !== null && x.start >= d.start &&
    x.start <= d.end!;
  const devices = look.platformDax.filter((
    x,
  ) => (owners.includes(x.platform!) || inside(x) ||
    (owners.length === 0 && x.start === undefined && x.size === d.size))
  );
  return devices.map((x) => {
    const view = daxView(x, look);
    return {
      dev: x.name,
      mode: view.mode,
      size: x.size,
      chardev: x.name,
      ...(x.align !== undefined ? { align: x.align } : {}),
      dax: true,
      badblock_count: 0,
      daxdev: view,
    };
  });
}

function daxView(dax: DaxDevice, look: Lookups): DaxDevView {
  const kmem = dax.driver === "kmem";
  const node = look.iomemByName.get(dax.name);
  return {
    chardev: dax.name,
    size: dax.size,
    ...(dax.targetNode !== undefined ? { target_node: dax.targetNode } : {}),
    ...(dax.numaNode !== undefined ? { numa_node: dax.numaNode } : {}),
    ...(dax.align !== undefined ? { align: dax.align } : {}),
    mode: kmem ? "system-ram" : "devdax",
    ...(kmem && dax.memory
      ? {
        online_memblocks: dax.memory.online,
        total_memblocks: dax.memory.total,
        movable: dax.memory.movable,
      }
      : {}),
    ...(node?.children[0] ? { claimed_by: node.children[0].name } : {}),
  };
}

/** What finishing a region looks up, indexed once for the whole machine. */
interface Lookups {
  iomemUsable: boolean;
  /** iomem nodes by name (the first of each), where iomem is usable. */
  iomemByName: Map<string, IomemNode>;
  /** dax_hmem's platform devices (`hmem.N`) in iomem. */
  hmem: IomemNode[];
  blocks: Map<string, PmemBlock>;
  dax: Map<string, DaxDevice>;
  /** Device-DAX of platform devices (soft-reserved memory). */
  platformDax: DaxDevice[];
  /** Mounts by `major:minor`. */
  mounts: Map<string, Mount[]>;
}

function firstByKey<T>(items: T[], key: (t: T) => string): Map<string, T> {
  const map = new Map<string, T>();
  for (const t of items) if (!map.has(key(t))) map.set(key(t), t);
  return map;
}

function lookups(obs: Observations, iomemUsable: boolean): Lookups {
  const nodes = iomemUsable ? iomemNodes(obs.iomem!) : [];
  const mounts = new Map<string, Mount[]>();
  for (const m of obs.mounts) {
    const key = `${m.major}:${m.minor}`;
    const list = mounts.get(key);
    if (list) list.push(m);
    else mounts.set(key, [m]);
  }
  return {
    iomemUsable,
    iomemByName: firstByKey(nodes, (n) => n.name),
    hmem: nodes.filter((n) => /^hmem\.\d+$/.test(n.name)),
    blocks: firstByKey(obs.blocks, (b) => b.name),
    dax: firstByKey(obs.dax, (x) => x.name),
    platformDax: obs.dax.filter((x) => x.platform !== undefined),
    mounts,
  };
}

function finishRegion(
  d: Draft,
  look: Lookups,
  warnings: string[],
): ListRegion {
  const { iomemUsable } = look;
  const namespaces: ListNamespace[] = [];
  for (const ns of d.nd?.namespaces ?? []) {
    const block = ns.blockdev ? look.blocks.get(ns.blockdev) : undefined;
    const dax = ns.chardev ? look.dax.get(ns.chardev) : undefined;
    if (block) d.sources.add("block");
    if (dax) d.sources.add("dax");
    const out: ListNamespace = {
      dev: ns.dev,
      mode: ns.mode,
      ...(ns.map ? { map: ns.map } : {}),
      size: ns.size,
      ...(ns.uuid ? { uuid: ns.uuid } : {}),
      ...(ns.name ? { name: ns.name } : {}),
      ...(ns.sectorSize !== undefined ? { sector_size: ns.sectorSize } : {}),
      ...(ns.blockdev ? { blockdev: ns.blockdev } : {}),
      ...(ns.chardev ? { chardev: ns.chardev } : {}),
      ...(ns.align !== undefined && (ns.holder || ns.chardev)
        ? { align: dax?.align ?? ns.align }
        : {}),
      dax: ns.chardev !== undefined || (block?.dax ?? false),
      badblock_count: block?.badblockCount ??
        (ns.chardev ? d.nd!.badblockCount : 0),
    };
    if (dax) out.daxdev = daxView(dax, look);
    if (block) {
      const mountsOf = (major: number, minor: number) =>
        (look.mounts.get(`${major}:${minor}`) ?? [])
          .map((m) => ({
            path: m.mountPoint,
            fstype: m.fsType,
            dax: m.dax,
            dax_effective: m.dax === null ? null : block.dax ? m.dax : "never",
          }));
      out.mounts = mountsOf(block.major, block.minor);
      if (block.partitions?.length) {
        out.partitions = block.partitions.map((p) => ({
          name: p.name,
          start: p.start,
          size: p.size,
          mounts: mountsOf(p.major, p.minor),
        }));
      }
    }
    namespaces.push(out);
  }
  if (d.type === E820_SOFT_RESERVED) {
    namespaces.push(...softReservedDevices(d, look));
    if (namespaces.length > 0) d.sources.add("dax");
  }
  const claims = d.claims ?? [];
  // Without a readable iomem, the namespace a driver is bound to is what iomem would show.
  const bound = iomemUsable
    ? undefined
    : d.nd?.namespaces.find((n) => n.driver)?.dev;
  const claimedBy = claims.length > 0 ? claims[0].name : bound ?? null;
  if (
    iomemUsable && d.start !== null && d.sources.has("iomem") &&
    claimedBy === null && isPmemType(d.type)
  ) {
    const hint = d.type === E820_PRAM
      ? "load nd_e820 (modprobe nd_e820) for /dev/pmemN, or pmem_legacy (pmemctl kmod)"
      : "load the nfit module (modprobe nfit) and nd_pmem";
    warnings.push(
      `${
        range(d.start, d.end!)
      } (type ${d.type}) is not claimed by any driver: ${hint}`,
    );
  }
  return {
    start: d.start,
    end: d.end,
    size: d.size,
    // A range libnvdimm has from elsewhere (CXL, virtio-pmem) is in no e820
    // table, whatever iomem calls it.
    e820_type: d.nd && providerType(d.nd.provider) === null &&
        !d.sources.has("e820") && !d.sources.has("firmware_memmap")
      ? null
      : d.type,
    sources: SOURCE_ORDER.filter((s) => d.sources.has(s)),
    claimed_by: claimedBy,
    persistence_domain: d.nd?.persistenceDomain ??
      (d.type === E820_SOFT_RESERVED ? "none" : "unknown"),
    namespaces,
    provider: d.nd?.provider ?? providerOfType(d.type),
    persistent: d.type !== E820_SOFT_RESERVED,
    ...(d.nd ? { nd_region: d.nd.dev } : {}),
    ...(claims.length > 1 ? { claims } : {}),
    ...(d.memmap.length > 0 ? { memmap: d.memmap } : {}),
    ...(d.nd?.availableSize !== undefined
      ? { available_size: d.nd.availableSize }
      : {}),
    ...(d.nd?.maxAvailableExtent !== undefined
      ? { max_available_extent: d.nd.maxAvailableExtent }
      : {}),
  };
}
