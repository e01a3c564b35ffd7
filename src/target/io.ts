/**
 * A target's bytes through pread(2) and pwrite(2): O_DIRECT on block
 * devices (direct.ts), the page cache elsewhere, where a file that another
 * process cut short is never written past its new end unsaid; and what a
 * write that failed part-way had made durable.
 *
 * @module
 */

import { fstatx, preadFull, pwriteFull } from "../../ffi/mod.ts";
import { SystemError } from "../errors.ts";
import type { Target } from "./target.ts";

/** Bytes per system call. */
const CHUNK = 1 << 20;

/** Writes all of `buf` at `offset` of the target (pwrite until done; O_DIRECT on block devices). */
export function pwriteAll(t: Target, buf: Uint8Array, offset: number): void {
  const direct = t.direct;
  if (direct) return direct.write(buf, offset);
  if (t.kind !== "file") return pwritePiece(t, buf, offset);
  // pwrite past a file's end extends it, and a file another process cut
  // short must stay short: its size is looked at before each MiB. (A cut
  // that lands inside one pwrite can still let that MiB through: it is
  // found right after and reported with the size the file has then.)
  for (let done = 0; done < buf.length; done += CHUNK) {
    const piece = buf.subarray(done, done + CHUNK);
    const at = offset + done;
    const size = fstatx(t.file.fd, t.path).size;
    if (size < at + piece.length) throw shrank(t, size, at);
    pwritePiece(t, piece, at);
    const after = fstatx(t.file.fd, t.path).size;
    if (after < t.size) {
      throw new SystemError(
        `${t.op} ${t.path}`,
        `the target shrank while the ${piece.length} bytes at offset ${at} were written: it holds ${after} bytes now, not ${t.size}`,
      );
    }
  }
}

function pwritePiece(t: Target, buf: Uint8Array, offset: number): void {
  const n = pwriteFull(t.file.fd, buf, offset, t.path);
  if (n < buf.length) {
    throw new SystemError(
      `${t.op} ${t.path}`,
      `the target shrank or its filesystem is full: no room at offset ${
        offset + n
      }`,
    );
  }
}

/** The error for a file that another process cut to `size` bytes, found at `offset`. */
function shrank(t: Target, size: number, offset: number): SystemError {
  return new SystemError(
    `${t.op} ${t.path}`,
    `the target shrank to ${size} bytes (from ${t.size}): stopped at offset ${offset}, nothing written past its new end`,
  );
}

/** Fills all of `buf` from `offset` of the target (pread until done; O_DIRECT on block devices). */
export function preadAll(t: Target, buf: Uint8Array, offset: number): void {
  const direct = t.direct;
  if (direct) return direct.read(buf, offset);
  preadTarget(t, t.file.fd, buf, offset);
}

/**
 * Fills all of `buf` from `offset` of `t` through `fd` (the target's own
 * descriptor or one opened again on it); a file that ends first shrank.
 */
export function preadTarget(
  t: Target,
  fd: number,
  buf: Uint8Array,
  offset: number,
): void {
  const n = preadFull(fd, buf, offset, t.path);
  if (n < buf.length) {
    throw new SystemError(
      `${t.op} ${t.path}`,
      `the target shrank: nothing to read at offset ${offset + n}`,
    );
  }
}

/**
 * A write that failed part-way (the target shrank, its filesystem filled):
 * the error says how many bytes before the window it failed in were written
 * and made durable, as the parallel path says.
 */
export function madeDurable(e: unknown, done: number, offset: number): unknown {
  if (!(e instanceof SystemError) || e.why.includes("made durable")) return e;
  return new SystemError(
    e.what,
    `${e.why}; the first ${done} bytes from offset ${offset} were written and made durable`,
  );
}
