/**
 * The CXL side of persistent memory, from `/sys/bus/cxl/devices` (as
 * `cxl list` reads it): memory devices and their persistent and volatile
 * capacity, root decoders (the platform's CXL windows), endpoint decoders
 * (which slice of which device a region uses) and regions. Capacity no
 * endpoint decoder has claimed for pmem is `pmem_free`: what
 * `cxl create-region` can still turn into a region.
 *
 * @module
 */

import { naturalCompare, type SystemRoot } from "./root.ts";

/** A CXL memory device (`memN`), in `cxl list -M`'s words. */
export interface CxlMemdev {
  memdev: string;
  /** The device's serial number, decimal (as cxl list prints it). */
  serial: string;
  /** The PCI device behind it (`0000:0d:00.0`). */
  host: string;
  numa_node: number | null;
  pmem_size: number;
  ram_size: number;
  /** Persistent capacity no endpoint decoder holds for a region yet. */
  pmem_free: number;
  /**
   * Shutdowns in which the device could have lost data (its nvdimm's
   * `cxl/dirty_shutdown`, kernels from 6.15 on with a device that counts
   * them), or null where the kernel does not say.
   */
  dirty_shutdown: number | null;
}

/** A root decoder: one CXL window of the platform (CFMWS). */
export interface CxlRootDecoder {
  decoder: string;
  start: number;
  size: number;
  pmem_capable: boolean;
  volatile_capable: boolean;
  /** The window's bytes no region occupies. */
  free: number;
  interleave_ways: number;
}

/** A CXL region: memdevs' capacity decoded into one physical range. */
export interface CxlRegion {
  region: string;
  /** `pmem` or `ram`, from its endpoint decoders' mode (null before any is set). */
  type: "pmem" | "ram" | null;
  start: number | null;
  size: number;
  interleave_ways: number;
  interleave_granularity: number;
  /** `commit` once the decoders are programmed, else `reset`. */
  decode_state: "commit" | "reset";
  /** The root decoder (window) it lives in. */
  decoder: string;
  memdevs: string[];
  /** The libnvdimm region over it (`list` joins it by address). */
  nd_region?: string;
}

/** What /sys/bus/cxl says. */
export interface CxlView {
  memdevs: CxlMemdev[];
  root_decoders: CxlRootDecoder[];
  regions: CxlRegion[];
}

interface EndpointDecoder {
  name: string;
  memdev: string | undefined;
  mode: string | undefined;
  dpaSize: number;
}

const DEVICES = "/sys/bus/cxl/devices";

/** The parent directory's name of a sysfs path. */
function parentName(path: string | undefined): string | undefined {
  return path?.split("/").slice(0, -1).pop();
}

/** The CXL view under `sys`, or undefined where there is no CXL bus. */
export function readCxl(sys: SystemRoot): CxlView | undefined {
  if (!sys.exists(DEVICES)) return undefined;
  const names = sys.list(DEVICES).sort(naturalCompare);
  const at = (name: string, attr: string) => `${DEVICES}/${name}/${attr}`;
  const devtype = (name: string) => sys.attr(at(name, "devtype"));

  const endpoints: EndpointDecoder[] = names
    .filter((n) =>
      /^decoder\d+\.\d+$/.test(n) && devtype(n) === "cxl_decoder_endpoint"
    )
    .map((name) => {
      const port = sys.realPath(`${DEVICES}/${name}`)?.replace(/\/[^/]+$/, "");
      return {
        name,
        memdev: port ? sys.linkName(`${port}/uport`) : undefined,
        mode: sys.attr(at(name, "mode")),
        dpaSize: sys.number(at(name, "dpa_size")) ?? 0,
      };
    });

  // The nvdimm libnvdimm made of each memdev names it by serial (cxl/id).
  const health = new Map<string, number>();
  for (const nmem of sys.list("/sys/bus/nd/devices")) {
    const dir = `/sys/bus/nd/devices/${nmem}/cxl`;
    const id = sys.attr(`${dir}/id`);
    const count = sys.number(`${dir}/dirty_shutdown`);
    if (id !== undefined && count !== undefined) health.set(id, count);
  }

  const memdevs: CxlMemdev[] = names.filter((n) => /^mem\d+$/.test(n)).map(
    (memdev) => {
      const pmem = sys.number(at(memdev, "pmem/size")) ?? 0;
      const used = endpoints
        .filter((e) => e.memdev === memdev && e.mode === "pmem")
        .reduce((n, e) => n + e.dpaSize, 0);
      // -1 where the device has no node of its own.
      const node = Number(sys.attr(at(memdev, "numa_node")) ?? "-1");
      const serial = sys.number(at(memdev, "serial"));
      return {
        memdev,
        serial: serial === undefined ? "" : String(serial),
        host: parentName(sys.realPath(`${DEVICES}/${memdev}`)) ?? "",
        numa_node: Number.isSafeInteger(node) && node >= 0 ? node : null,
        pmem_size: pmem,
        ram_size: sys.number(at(memdev, "ram/size")) ?? 0,
        pmem_free: Math.max(0, pmem - used),
        dirty_shutdown: serial === undefined
          ? null
          : health.get(String(serial)) ?? null,
      };
    },
  );

  const regions: CxlRegion[] = names.filter((n) => /^region\d+$/.test(n)).map(
    (region) => {
      const targets: string[] = [];
      for (let i = 0;; i++) {
        const t = sys.attr(at(region, `target${i}`));
        if (t === undefined) break;
        if (t) targets.push(t);
      }
      const decoders = targets.map((t) => endpoints.find((e) => e.name === t));
      const mode = sys.attr(at(region, "mode")) ?? decoders[0]?.mode;
      return {
        region,
        type: mode === "pmem" || mode === "ram" ? mode : null,
        start: sys.number(at(region, "resource")) ?? null,
        size: sys.number(at(region, "size")) ?? 0,
        interleave_ways: sys.number(at(region, "interleave_ways")) ?? 0,
        interleave_granularity:
          sys.number(at(region, "interleave_granularity")) ?? 0,
        decode_state: sys.attr(at(region, "commit")) === "1"
          ? "commit"
          : "reset",
        decoder: parentName(sys.realPath(`${DEVICES}/${region}`)) ?? "",
        memdevs: decoders.map((d) => d?.memdev).filter((m): m is string =>
          m !== undefined
        ),
      };
    },
  );

  const root_decoders: CxlRootDecoder[] = names
    .filter((n) =>
      /^decoder\d+\.\d+$/.test(n) && devtype(n) === "cxl_decoder_root"
    )
    .map((decoder) => {
      const size = sys.number(at(decoder, "size")) ?? 0;
      const used = regions.filter((r) => r.decoder === decoder)
        .reduce((n, r) => n + r.size, 0);
      return {
        decoder,
        start: sys.number(at(decoder, "start")) ?? 0,
        size,
        pmem_capable: sys.attr(at(decoder, "cap_pmem")) === "1",
        volatile_capable: sys.attr(at(decoder, "cap_ram")) === "1",
        free: Math.max(0, size - used),
        interleave_ways: sys.number(at(decoder, "interleave_ways")) ?? 0,
      };
    });

  return { memdevs, root_decoders, regions };
}
