/**
 * `pmemctl plan cxl`: the commands that turn free CXL persistent capacity
 * into a region and a namespace. A pure function of the CXL view
 * (src/sysfs/cxl.ts) and of libnvdimm's regions on the CXL bus.
 *
 * The region takes one memdev (`-w 1`): the one with the most free
 * persistent capacity, in the first persistent-capable window with room.
 * CXL decodes in 256 MiB blocks per device, so a size is a multiple of it.
 * The namespace is made on the CXL bus (`ndctl create-namespace --bus CXL`),
 * where the new region is the one with room: libnvdimm names its region
 * only once cxl create-region has made it.
 *
 * @module
 */

import type { CxlView } from "../sysfs/cxl.ts";

/** CXL's host-managed decode unit: regions are multiples of it per device. */
export const CXL_BLOCK = 256 * 2 ** 20;

/** What `plan cxl` was asked. */
export interface CxlRequest {
  /** Bytes, or undefined for all of the chosen memdev's free capacity. */
  size?: number;
  mode: "fsdax" | "devdax";
}

/** A plan: `commands` run in order, one shell command each. */
export interface CxlPlan {
  commands: string[];
  memdevs: string[];
  decoder: string;
  size: number;
  mode: "fsdax" | "devdax";
  warnings: string[];
}

/**
 * The plan for `request`, or the reason there is none. `ndFree`: CXL-bus
 * libnvdimm regions that already have room for a namespace (their names).
 */
export function planCxl(
  view: CxlView,
  request: CxlRequest,
  ndFree: string[] = [],
): CxlPlan | { reason: string; usage?: true } {
  const warnings: string[] = [];
  const free = view.memdevs.filter((m) => m.pmem_free >= CXL_BLOCK)
    .sort((a, b) => b.pmem_free - a.pmem_free);
  if (free.length === 0) {
    const total = view.memdevs.reduce((n, m) => n + m.pmem_size, 0);
    return {
      reason: view.memdevs.length === 0
        ? "no CXL memory device (cxl list -M shows none)"
        : total === 0
        ? "no CXL memory device has persistent capacity"
        : "every CXL memory device's persistent capacity is in a region already",
    };
  }
  const memdev = free[0];
  const size = request.size ?? memdev.pmem_free - memdev.pmem_free % CXL_BLOCK;
  if (size % CXL_BLOCK !== 0 || size === 0) {
    return {
      reason:
        `a CXL region is a multiple of 256 MiB per device: ${size} bytes is not`,
      usage: true,
    };
  }
  if (size > memdev.pmem_free) {
    return {
      reason:
        `${memdev.memdev}, the device with the most free persistent capacity, has ${memdev.pmem_free} bytes free, less than ${size}`,
    };
  }
  const window = view.root_decoders.find((d) =>
    d.pmem_capable && d.free >= size
  );
  if (!window) {
    return {
      reason:
        `no persistent-capable CXL window (root decoder) has ${size} bytes free`,
    };
  }
  if (free.length > 1) {
    warnings.push(
      `${free.length} memory devices have free persistent capacity; this plan uses ${memdev.memdev} (run plan cxl again for the next)`,
    );
  }
  if (ndFree.length > 0) {
    warnings.push(
      `CXL region${ndFree.length > 1 ? "s" : ""} ${
        ndFree.join(", ")
      } already ha${
        ndFree.length > 1 ? "ve" : "s"
      } room for a namespace: ndctl create-namespace --bus CXL may take ${
        ndFree.length > 1 ? "one of them" : "it"
      }`,
    );
  }
  return {
    commands: [
      `cxl create-region -m -t pmem -d ${window.decoder} -w 1 -g 4096 -s ${size} ${memdev.memdev}`,
      `ndctl create-namespace --bus CXL -m ${request.mode}${
        request.mode === "devdax" ? " -a 2M" : ""
      }`,
    ],
    memdevs: [memdev.memdev],
    decoder: window.decoder,
    size,
    mode: request.mode,
    warnings,
  };
}
