/**
 * `map info`: what a target is and how its bytes move and become durable,
 * told truthfully.
 *
 * @module
 */

import { libpmem } from "../../ffi/mod.ts";
import { persistenceDomain, probeMapSync } from "./durability.ts";
import type { Target, TargetKind } from "./target.ts";

/** How written data is made durable. */
export type Persistence = "msync" | "map_sync" | "devdax";

/** `map info`'s answer (spec keys first). */
export interface TargetInfo {
  path: string;
  kind: TargetKind;
  size: number;
  /** The mapping bypasses the page cache. */
  dax: boolean;
  map_sync: boolean;
  align: number;
  persistence: Persistence;
  /** How bytes move: non-temporal stores or plain ones through a DAX mapping, O_DIRECT (block devices), or pread/pwrite through the page cache. */
  io: "mmap-nt" | "mmap" | "pwrite" | "o_direct";
  /** The kernel's name for it (`pmem0`, `dax0.0`), for devices. */
  device?: string;
  /** How CPU caches are flushed after writes: by the kernel (msync), libpmem, or not at all. */
  cache_flush: "msync" | "libpmem" | "none";
  /** The region's persistence domain, for devices from libnvdimm. */
  persistence_domain?: string;
  warnings: string[];
}

/** How map moves this target's bytes: non-temporal or plain stores through a DAX mapping, O_DIRECT, or pread/pwrite through the page cache. */
export function io(t: Target): TargetInfo["io"] {
  if (t.kind === "devdax" && libpmem()) return "mmap-nt";
  if (t.dax) return "mmap";
  return t.direct ? "o_direct" : "pwrite";
}

/** `map info`'s description, telling the truth about durability. */
export function info(t: Target): TargetInfo {
  const mapSync = probeMapSync(t);
  const domain = persistenceDomain(t);
  const warnings: string[] = [];
  let persistence: Persistence = "msync";
  let flush: TargetInfo["cache_flush"] = "msync";
  if (t.kind === "devdax") {
    persistence = "devdax";
    flush = libpmem() ? "libpmem" : "none";
    if (flush === "none" && domain !== "cpu_cache") {
      warnings.push(
        "writes may sit in CPU caches: device-DAX has no msync and libpmem (apt-get install libpmem1) is not installed",
      );
    }
  } else if (mapSync) {
    persistence = "map_sync";
  }
  return {
    path: t.path,
    kind: t.kind,
    size: t.size,
    dax: t.dax,
    map_sync: mapSync,
    align: t.align,
    persistence,
    io: t.io,
    ...(t.device ? { device: t.device } : {}),
    cache_flush: flush,
    ...(domain ? { persistence_domain: domain } : {}),
    warnings,
  };
}
