/**
 * What is checked before a target's bytes are touched: the range, known
 * bad blocks (a partition's from its disk), a filesystem signature, that a
 * file still holds what it held, and blocks given to a file's holes before
 * it is written.
 *
 * @module
 */

import {
  constants as C,
  fallocate,
  fstatx,
  holes,
  OsError,
  pread,
} from "../../ffi/mod.ts";
import { SystemError, UsageError } from "../errors.ts";
import {
  type BadRange,
  parseBadblocks,
  readDaxBadRanges,
} from "../sysfs/nd.ts";
import { SystemRoot } from "../sysfs/root.ts";
import { hex } from "../units.ts";
import { detectSignature, SIGNATURE_BYTES } from "./signature.ts";
import type { Target } from "./target.ts";

const sys = new SystemRoot("/");

/** Bytes given blocks per fallocate call (so a signal is noticed between them). */
const RESERVE_STEP = 256 * 2 ** 20;

/** The disk a partition (`pmem0p2`) lies on and its first byte there; undefined for a whole disk. */
function partitionOf(
  device: string,
): { disk: string; start: number } | undefined {
  const real = sys.realPath(`/sys/class/block/${device}`);
  if (!real || !sys.exists(`${real}/partition`)) return undefined;
  const sector = sys.number(`${real}/start`);
  const disk = real.split("/").at(-2);
  return sector === undefined || !disk
    ? undefined
    : { disk, start: sector * 512 };
}

/** A disk's bad ranges as byte ranges of its partition at `start` holding `size` bytes. */
export function onPartition(
  ranges: BadRange[],
  start: number,
  size: number,
): BadRange[] {
  return ranges.filter((b) => b.end > start && b.start < start + size)
    .map((b) => ({
      ...b,
      start: Math.max(0, b.start - start),
      end: Math.min(size, b.end - start),
    }));
}

/** Usage error unless `[offset, offset+length)` lies inside the target. */
export function checkRange(t: Target, offset: number, length: number): void {
  if (offset > t.size || length > t.size - offset) {
    throw new UsageError(
      `${t.path}`,
      `range ${offset}+${length} is past the end (the target holds ${t.size} bytes)`,
    );
  }
}

/** System error (exit 3) when a file target no longer reaches `end` (devices do not shrink under an open descriptor). */
export function checkStillHolds(t: Target, end: number): void {
  if (t.kind !== "file") return;
  const now = fstatx(t.file.fd, t.path).size;
  if (now < end) {
    throw new SystemError(
      `${t.op} ${t.path}`,
      `the target shrank to ${now} bytes (it held ${t.size}) at offset ${now}`,
    );
  }
}

/**
 * Before writing `[offset, offset+length)` of a file: gives the range its
 * blocks now (fallocate, 256 MiB at a time), so a full filesystem is
 * found before the first byte changes instead of as a SIGBUS in the
 * middle. Devices have nothing to allocate; filesystems without
 * fallocate are left to the guard. Between steps it asks `poll`; when
 * that gives a reason to stop, the blocks it took are given back and the
 * reason is returned.
 */
export async function reserve(
  t: Target,
  offset: number,
  length: number,
  poll?: () => Promise<string | undefined>,
): Promise<string | undefined> {
  if (t.kind !== "file" || length === 0) return undefined;
  const before = holes(t.file.fd, offset, length);
  // Every block is there already (SEEK_HOLE finds none): nothing to give.
  if (before.length === 0) return await poll?.();
  // Some filesystems (ext4) keep what they allocated before running out:
  // give the holes back, so the file is as it was.
  const giveBack = () => {
    for (const [start, end] of before) {
      try {
        fallocate(
          t.file.fd,
          t.path,
          start,
          end - start,
          C.FALLOC_FL_PUNCH_HOLE | C.FALLOC_FL_KEEP_SIZE,
        );
      } catch { /* best effort: the data is unchanged either way */ }
    }
  };
  const end = offset + length;
  for (let at = offset; at < end; at += RESERVE_STEP) {
    const why = await poll?.();
    if (why) {
      giveBack();
      return why;
    }
    try {
      // KEEP_SIZE: never extend a file another process just shrank.
      fallocate(
        t.file.fd,
        t.path,
        at,
        Math.min(RESERVE_STEP, end - at),
        C.FALLOC_FL_KEEP_SIZE,
      );
    } catch (e) {
      if (!(e instanceof OsError)) throw e;
      if (e.code === "EOPNOTSUPP") return undefined;
      if (e.code !== "ENOSPC" && e.code !== "EDQUOT") throw e;
      giveBack();
      throw new SystemError(
        `${t.op} ${t.path}`,
        `its filesystem is full: the ${length} bytes at offset ${offset} cannot all be given blocks; nothing was written`,
      );
    }
  }
  return undefined;
}

/**
 * The device's known bad byte ranges: the block device's own list, or for
 * device-DAX its region's list placed on the device; `frame` names the
 * sectors the entries count in.
 */
export function knownBadRanges(
  t: Target,
): { ranges: BadRange[]; frame: string } {
  if (t.kind === "block" && t.device) {
    const part = partitionOf(t.device);
    if (!part) {
      const text = sys.text(`/sys/block/${t.device}/badblocks`);
      return { ranges: parseBadblocks(text), frame: "sectors" };
    }
    // A partition has no list of its own: its disk's, moved to the partition.
    const text = sys.text(`/sys/block/${part.disk}/badblocks`);
    return {
      ranges: onPartition(parseBadblocks(text), part.start, t.size),
      frame: `${part.disk} sectors`,
    };
  }
  if (t.kind === "devdax" && t.device) {
    const { region, ranges } = readDaxBadRanges(sys, t.device);
    return { ranges, frame: `${region} sectors` };
  }
  return { ranges: [], frame: "" };
}

/** System error when known bad blocks lie in `[offset, offset+length)`. */
export function checkBadBlocks(
  t: Target,
  offset: number,
  length: number,
): void {
  const { ranges, frame } = knownBadRanges(t);
  for (const b of ranges) {
    if (b.start < offset + length && b.end > offset) {
      throw new SystemError(
        t.path,
        `known bad blocks at bytes ${hex(b.start)}-${
          hex(b.end - 1)
        } (${frame} ${b.sector}+${b.count}) lie in the range: ` +
          `not touching poisoned memory (clear them, e.g. ndctl clear-errors, or pick another range)`,
      );
    }
  }
}

/** Usage error when a block device carries a filesystem or swap signature. */
export function checkSignature(t: Target): void {
  if (t.kind !== "block") return;
  const head = new Uint8Array(Math.min(SIGNATURE_BYTES, t.size));
  pread(t.file.fd, head, 0, t.path);
  const found = detectSignature(head);
  if (found) {
    throw new UsageError(
      t.path,
      `carries a ${found} signature: pass --force to overwrite it`,
    );
  }
}
