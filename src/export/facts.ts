/**
 * What the exports say, built once from what list gathers and joins, the
 * device-DAX memory given to the kernel, and the recorded verify results
 * (pure: the renderers for Prometheus, Ansible and NFD read only this).
 *
 * @module
 */

import type { KmemDevice } from "../sysfs/block.ts";
import type { CxlView } from "../sysfs/cxl.ts";
import type { ListNamespace, ListRegion, ListResult } from "../list/join.ts";
import type { MemmapParse } from "../parse/cmdline.ts";
import { checkPlan } from "../plan/check.ts";
import type { State, VerifyRecord } from "../state/results.ts";

/** A namespace with the region it lives in. */
export interface FactNamespace extends ListNamespace {
  region: string | null;
}

/** One `memmap=` request of the command line, and whether it became a region. */
export interface FactMemmap {
  param: string;
  start: number;
  size: number;
  realised: boolean;
}

/** Everything the exports say about this host's pmem. */
export interface PmemFacts {
  pmemctl_version: string;
  present: boolean;
  total_bytes: number;
  regions: ListRegion[];
  namespaces: FactNamespace[];
  memmap: FactMemmap[];
  system_ram: KmemDevice[];
  verify: VerifyRecord[];
  /** The CXL side, where the host has a CXL bus. */
  cxl?: CxlView;
  warnings: string[];
}

/** Builds the facts (pure). */
export function pmemFacts(
  version: string,
  list: ListResult,
  memmap: MemmapParse | undefined,
  kmem: KmemDevice[],
  state: State,
  warnings: string[],
): PmemFacts {
  const realised = memmap ? checkPlan(memmap, memmap, list) : [];
  return {
    pmemctl_version: version,
    // Soft-reserved memory is listed, but it is not persistent.
    present: list.regions.some((r) => r.persistent),
    total_bytes: list.regions.filter((r) => r.persistent)
      .reduce((n, r) => n + r.size, 0),
    regions: list.regions,
    namespaces: list.regions.flatMap((r) =>
      r.namespaces.map((n) => ({ ...n, region: r.nd_region ?? null }))
    ),
    memmap: realised.map((v) => ({
      param: v.param,
      start: v.start,
      size: v.size,
      realised: v.realised,
    })),
    system_ram: kmem,
    verify: Object.values(state.verify).sort((a, b) =>
      a.target < b.target
        ? -1
        : a.target > b.target
        ? 1
        : a.mode < b.mode
        ? -1
        : 1
    ),
    ...(list.cxl ? { cxl: list.cxl } : {}),
    warnings: [...warnings, ...list.warnings],
  };
}
