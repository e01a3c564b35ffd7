/**
 * How a target's bytes become durable: its windows mapped (MAP_SYNC where
 * the file gives it, the SIGBUS guard on every mapping), msync or a CPU
 * cache flush through libpmem, fsync, and what the persistence domain says.
 *
 * @module
 */

import {
  copyMemory,
  fsync,
  libpmem,
  Mapping,
  pageSize,
  pmemCopyPersist,
  pmemPersist,
  pmemSetPersist,
} from "../../ffi/mod.ts";
import { regionInPath } from "../sysfs/nd.ts";
import { SystemRoot } from "../sysfs/root.ts";
import type { Target } from "./target.ts";
import { alignUp, type Window } from "./windows.ts";
import { checkStillHolds } from "./checks.ts";

const sys = new SystemRoot("/");

/**
 * Maps the aligned window `w`. Files ask for MAP_SYNC first and fall back.
 * A file is first checked to still hold the window (exit 3 when it
 * shrank); a SIGBUS that a race still brings is reported by the guard,
 * with `done` (what the run did before this window) when given.
 */
export function map(
  t: Target,
  w: Window,
  populate = true,
  done?: string,
): Mapping {
  checkStillHolds(t, w.start + w.length);
  return Mapping.map(t.file.fd, t.path, {
    fault: {
      prefix: `pmemctl: ${t.op} ${t.path}: `,
      // What was done before this window, for the guard's one line.
      reason: (t.kind === "file"
        ? "the target shrank or its filesystem is full"
        : "the device was disabled or shrank") + (done ? ` (${done})` : ""),
    },
    offset: w.mapStart,
    length: w.mapLength,
    writable: t.writable,
    // MAP_SYNC only matters for stores; block devices refuse it (EOPNOTSUPP).
    sync: t.kind === "block" || !t.writable ? "off" : "try",
    populate,
  });
}

/** Whether a mapping of this target gets MAP_SYNC (probed with one page or align unit). */
export function probeMapSync(t: Target): boolean {
  if (t.kind === "block" || t.size === 0) return false;
  const length = Math.min(t.align, alignUp(t.size, pageSize()));
  using m = Mapping.map(t.file.fd, t.path, {
    length,
    writable: t.writable,
    sync: "try",
  });
  return m.mapSync;
}

/** The persistence domain of the libnvdimm region behind a device, when there is one. */
export function persistenceDomain(t: Target): string | undefined {
  if (!t.device) return undefined;
  const dir = t.kind === "block"
    ? `/sys/block/${t.device}`
    : `/sys/bus/dax/devices/${t.device}`;
  const region = regionInPath(sys.realPath(dir));
  if (!region) return undefined;
  return sys.attr(`/sys/bus/nd/devices/${region}/persistence_domain`)
    ?.trim() || "unknown";
}

/**
 * Makes the bytes written through `m` in `[start, start+length)` of the
 * target durable: msync (page cache, DAX files) or a CPU cache flush
 * (device-DAX, through libpmem). Returns false when nothing could flush.
 */
export function persist(
  t: Target,
  m: Mapping,
  start: number,
  length: number,
): boolean {
  if (length === 0) return true;
  const at = start - m.offset;
  if (t.kind === "devdax") {
    return pmemPersist(m.pointer(at), length) || cachesPersist(t);
  }
  m.sync(at, length);
  return true;
}

/** Whether each target's region keeps CPU caches in its persistence domain, asked once. */
const cpuCache = new WeakMap<Target, boolean>();

/** The region's persistence domain covers CPU caches: stores are durable as they land. */
function cachesPersist(t: Target): boolean {
  let known = cpuCache.get(t);
  if (known === undefined) {
    known = persistenceDomain(t) === "cpu_cache";
    cpuCache.set(t, known);
  }
  return known;
}

/** Whether writes to this target can be made durable (false: device-DAX without libpmem). */
export function canPersist(t: Target): boolean {
  return t.kind !== "devdax" || libpmem() !== null ||
    cachesPersist(t);
}

/**
 * Copies `length` bytes from `src` into the target at `start` through `m`
 * and makes them durable: on device-DAX with libpmem's non-temporal copy,
 * which needs no flush pass afterwards; elsewhere with memcpy and then
 * {@link persist}. Returns false when nothing could flush.
 */
export function copyIn(
  t: Target,
  m: Mapping,
  start: number,
  src: Deno.PointerObject,
  length: number,
): boolean {
  if (length === 0) return true;
  return copyUnflushed(t, m, start, src, length) ||
    t.persist(m, start, length);
}

/**
 * {@link copyIn} without the flush, for callers that copy a window in
 * pieces and flush it once: true when the bytes are durable already
 * (device-DAX through libpmem's non-temporal copy), false when the window
 * still needs {@link persist}.
 */
export function copyUnflushed(
  t: Target,
  m: Mapping,
  start: number,
  src: Deno.PointerObject,
  length: number,
): boolean {
  const dest = m.pointer(start - m.offset);
  if (t.kind === "devdax" && pmemCopyPersist(dest, src, length)) {
    return true;
  }
  copyMemory(dest, src, length);
  return false;
}

/**
 * Zeroes `[start, start+length)` of the target through `m` and makes it
 * durable: on device-DAX with libpmem's non-temporal memset, which needs no
 * flush pass; elsewhere with stores and then {@link persist}. Returns false
 * when nothing could flush.
 */
export function zeroIn(
  t: Target,
  m: Mapping,
  start: number,
  length: number,
): boolean {
  if (length === 0) return true;
  const at = start - m.offset;
  if (t.kind === "devdax" && pmemSetPersist(m.pointer(at), 0, length)) {
    return true;
  }
  m.bytes(at, length).fill(0);
  return t.persist(m, start, length);
}

/** Copies `length` bytes of the target at `start` out of `m` to `dest` (memcpy). */
export function copyOut(
  m: Mapping,
  start: number,
  dest: Deno.PointerObject,
  length: number,
): void {
  copyMemory(dest, m.pointer(start - m.offset), length);
}

/** fsync(2) the descriptor (no-op for device-DAX, which has none). */
export function flush(t: Target): void {
  if (t.kind !== "devdax") fsync(t.file.fd, t.path);
}
