/**
 * What a target is and how its bytes move and become durable, told
 * truthfully (`map info`'s facts; its document is built in
 * render/json.ts).
 *
 * @module
 */

import { libpmem } from "../../ffi/mod.ts";
import { persistenceDomain, probeMapSync } from "./durability.ts";
import type { Target } from "./target.ts";

/** How written data is made durable. */
export type Persistence = "msync" | "map_sync" | "devdax";

/** How bytes move: non-temporal stores or plain ones through a DAX mapping, O_DIRECT (block devices), or pread/pwrite through the page cache. */
export type TargetIo = "mmap-nt" | "mmap" | "pwrite" | "o_direct";

/** How a target's writes become durable. */
export interface Durability {
  /** A writable mapping gets MAP_SYNC. */
  map_sync: boolean;
  persistence: Persistence;
  /** How CPU caches are flushed after writes: by the kernel (msync), libpmem, or not at all. */
  cache_flush: "msync" | "libpmem" | "none";
  /** The region's persistence domain, for devices from libnvdimm. */
  persistence_domain?: string;
  warnings: string[];
}

/** How map moves this target's bytes: non-temporal or plain stores through a DAX mapping, O_DIRECT, or pread/pwrite through the page cache. */
export function io(t: Target): TargetIo {
  if (t.kind === "devdax" && libpmem()) return "mmap-nt";
  if (t.dax) return "mmap";
  return t.direct ? "o_direct" : "pwrite";
}

/** How this target's writes become durable (probes MAP_SYNC with one mapping). */
export function durability(t: Target): Durability {
  const mapSync = probeMapSync(t);
  const domain = persistenceDomain(t);
  const warnings: string[] = [];
  let persistence: Persistence = "msync";
  let flush: Durability["cache_flush"] = "msync";
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
    map_sync: mapSync,
    persistence,
    cache_flush: flush,
    ...(domain ? { persistence_domain: domain } : {}),
    warnings,
  };
}
