/**
 * `map read`, `map write` and `map zero`. On DAX targets bytes move window
 * by window between a file descriptor and the target's mapping (read(2) and
 * write(2) straight into and out of the mapped memory, or a mapped input
 * file copied with non-temporal stores), so no copy is made in JavaScript
 * and memory stays flat whatever the size. Page-cache targets (files,
 * tmpfs) use pread/pwrite instead (pagecache.ts), and block devices
 * (/dev/pmemN) the same through O_DIRECT (direct.ts). With
 * `jobs` > 1, a range of several pieces moved to or from a regular file is
 * spread over threads (parallel.ts); streams keep one thread and their order.
 *
 * @module
 */

import {
  constants as C,
  fstatx,
  lseek,
  readInto,
  writeFrom,
} from "../../ffi/mod.ts";
import { SystemError, UsageError } from "../errors.ts";
import { threadsFor } from "../jobs/pool.ts";
import type { Poll } from "../safety/interrupt.ts";
import {
  copyFromInput,
  mappableInput,
  type MappedInput,
  positional,
  type Stream,
} from "./input.ts";
import { madeDurable } from "../target/io.ts";
import { zeroIn } from "../target/durability.ts";
import { readPageCache, writePageCache } from "./pagecache.ts";
import { transferParallel } from "./parallel.ts";
import type { Target } from "../target/target.ts";
import { windows } from "../target/windows.ts";
import { checkBadBlocks, checkRange, reserve } from "../target/checks.ts";

/** Reports how many bytes are done. */
export type OnProgress = (done: number) => void;

export type { Stream };

/** What a transfer did. */
export interface WriteReport {
  bytes: number;
  /** False when the target is device-DAX and nothing could flush CPU caches (reads: true). */
  durable: boolean;
  /** Threads that moved the bytes (`--jobs`; 1 for streams and short ranges). */
  jobs: number;
}

/**
 * A transfer stopped by a signal between two windows: what was done before
 * is complete (and, for writes, durable). Exit 3.
 */
export class Interrupted extends SystemError {
  constructor(
    op: string,
    reason: string,
    readonly bytes: number,
    what: string,
  ) {
    super(op, `${reason}: stopped after ${bytes} bytes, ${what}`);
  }
}

/**
 * Ends a transfer whose bytes have moved: flushes the target (writes),
 * then reports, or throws {@link Interrupted} saying `what` was done when
 * a signal stopped it.
 */
function settle(
  target: Target,
  op: string,
  moved: { bytes: number; durable?: boolean; stopped?: string },
  what: string,
  jobs: number,
): WriteReport {
  if (op !== "map read") target.flush();
  if (moved.stopped) {
    throw new Interrupted(op, moved.stopped, moved.bytes, what);
  }
  return { bytes: moved.bytes, durable: moved.durable ?? true, jobs };
}

/**
 * Copies `length` bytes of the target from `offset` to `out`. Stops quietly
 * when the reader goes away (EPIPE). Reports the bytes written out.
 */
export async function readRange(
  target: Target,
  offset: number,
  length: number,
  out: Stream,
  progress?: OnProgress,
  poll?: Poll,
  jobs = 1,
): Promise<WriteReport> {
  checkRange(target, offset, length);
  checkBadBlocks(target, offset, length);
  const threads = threadsFor(target, length, jobs);
  if (threads > 1 && positional(out)) {
    const at = lseek(out.fd, 0, C.SEEK_CUR, out.path);
    const r = await transferParallel(
      target,
      { op: "read", offset, peer: { ...out, at } },
      length,
      threads,
      progress,
      poll,
    );
    lseek(out.fd, at + r.bytes, C.SEEK_SET, out.path);
    return settle(target, "map read", r, "all of them written out", threads);
  }
  if (!target.dax) {
    const r = await readPageCache(target, offset, length, out, progress, poll);
    return settle(target, "map read", r, "all of them written out", 1);
  }
  let done = 0;
  for (const w of windows(offset, length, target.align)) {
    const why = await poll?.();
    if (why) {
      throw new Interrupted("map read", why, done, "all of them written out");
    }
    using m = target.map(w);
    for (let at = 0; at < w.length;) {
      const n = writeFrom(
        out.fd,
        m.pointer(w.start - w.mapStart + at),
        w.length - at,
        out.path,
      );
      at += n;
      done += n;
      progress?.(done);
    }
  }
  return { bytes: done, durable: true, jobs: 1 };
}

/**
 * Fills `[offset, offset+length)` of the target from `input`, making each
 * window durable before going on. With `length` undefined, writes until the
 * input ends (and refuses input longer than the target). Input shorter than
 * `length` is an error saying how much was written.
 *
 * A regular-file input into a DAX target is mapped and copied with memcpy
 * (libpmem's non-temporal copy on device-DAX) instead of read(2): one copy
 * in user space with no flush pass, and no kernel copy per window. Other
 * inputs are read(2) straight into the target's mapping.
 */
export async function writeRange(
  target: Target,
  offset: number,
  length: number | undefined,
  input: Stream,
  progress?: OnProgress,
  poll?: Poll,
  jobs = 1,
): Promise<WriteReport> {
  const limit = length ?? target.size - offset;
  checkRange(target, offset, limit);
  checkBadBlocks(target, offset, limit);
  // A known length gets its blocks before the first byte changes; input of
  // unknown length (a pipe) window by window, so a short input into a
  // sparse file does not allocate all of it.
  if (length !== undefined) {
    const why = await reserve(target, offset, length, poll);
    if (why) throw new Interrupted("map write", why, 0, "nothing was written");
  }
  // Threads take an input file that holds all of the range; a shorter or
  // longer one, and streams, go the one-thread way that reports them.
  const threads = length === undefined ? 1 : threadsFor(target, length, jobs);
  const whole = threads > 1 ? mappableInput(input) : undefined;
  if (whole && whole.size - whole.at >= length! && positional(input)) {
    const r = await transferParallel(
      target,
      { op: "write", offset, peer: { ...input, at: whole.at } },
      length!,
      threads,
      progress,
      poll,
    );
    lseek(input.fd, whole.at + r.bytes, C.SEEK_SET, input.path);
    return settle(
      target,
      "map write",
      r,
      `written at offset ${offset} and made durable`,
      threads,
    );
  }
  // The input as threads saw it, when they did not take it.
  let mapped = target.dax ? whole ?? mappableInput(input) : undefined;
  let done = 0;
  let durable = true;
  let ended = false;
  if (!target.dax) {
    const r = await writePageCache(
      target,
      offset,
      limit,
      input,
      progress,
      poll,
      length === undefined ? (s, l) => reserve(target, s, l) : undefined,
    );
    done = r.bytes;
    ended = r.ended;
    if (r.stopped) {
      target.flush();
      throw new Interrupted(
        "map write",
        r.stopped,
        done,
        `written at offset ${offset} and made durable`,
      );
    }
  } else {
    const r = await writeDaxWindows(
      target,
      offset,
      limit,
      length,
      input,
      mapped,
      progress,
      poll,
    );
    ({ done, durable, ended, mapped } = r);
  }
  target.flush();
  // Leave the descriptor where read(2) would have: a shell's next reader
  // of the same file starts after the bytes written.
  if (mapped) lseek(input.fd, mapped.at, C.SEEK_SET, input.path);
  checkInputEnd(target, offset, limit, length, input, mapped, done, ended);
  return { bytes: done, durable, jobs: 1 };
}

/**
 * After a one-thread write: input that ended before `length` is an error
 * saying what was written, and so is input left over when the target is
 * full (`length` not given).
 */
function checkInputEnd(
  target: Target,
  offset: number,
  limit: number,
  length: number | undefined,
  input: Stream,
  mapped: MappedInput | undefined,
  done: number,
  ended: boolean,
): void {
  if (length !== undefined && done < length) {
    throw new UsageError(
      input.path,
      `ended after ${done} of the ${length} bytes --length asked for; ${done} bytes were written at offset ${offset} and made durable`,
    );
  }
  if (length === undefined && !ended) {
    // The target is full: any further input byte would not fit.
    const more = mapped
      ? mapped.at < fstatx(input.fd, input.path).size
      : readInto(
        input.fd,
        Deno.UnsafePointer.of(new Uint8Array(1))!,
        1,
        input.path,
      ) > 0;
    if (more) {
      throw new UsageError(
        input.path,
        `is longer than the ${limit} bytes from offset ${offset} to the end of ${target.path}; those ${limit} bytes were written`,
      );
    }
  }
}

/**
 * The one-thread way into a DAX target: each window mapped, filled from the
 * mapped input file (memcpy) or by read(2) into the mapping, and persisted
 * before the next. What it wrote, whether all of it is durable, whether the
 * input ended, and the mapped input as it stands (undefined when it could
 * not be mapped after all).
 */
async function writeDaxWindows(
  target: Target,
  offset: number,
  limit: number,
  length: number | undefined,
  input: Stream,
  mapped: MappedInput | undefined,
  progress?: OnProgress,
  poll?: Poll,
): Promise<
  { done: number; durable: boolean; ended: boolean; mapped?: MappedInput }
> {
  let done = 0;
  let durable = true;
  let ended = false;
  for (const w of windows(offset, limit, target.align)) {
    const why = await poll?.();
    if (why) {
      target.flush();
      if (mapped) lseek(input.fd, mapped.at, C.SEEK_SET, input.path);
      throw new Interrupted(
        "map write",
        why,
        done,
        `written at offset ${offset} and made durable`,
      );
    }
    if (length === undefined) await reserve(target, w.start, w.length);
    let filled = 0;
    try {
      using m = target.map(w, true, durableBefore(done, offset));
      if (mapped) {
        const n = Math.min(w.length, mapped.size - mapped.at);
        const copied = n === 0
          ? true
          : copyFromInput(target, m, w.start, input, mapped.at, n);
        if (copied === undefined) {
          // The file cannot be mapped after all: read(2) on from where the
          // copy stands, which the descriptor's position does not know yet.
          lseek(input.fd, mapped.at, C.SEEK_SET, input.path);
          mapped = undefined;
        } else {
          durable = copied && durable;
          mapped.at += n;
          filled = n;
          ended = n < w.length;
          progress?.(done + filled);
        }
      }
      if (!mapped) {
        while (filled < w.length) {
          const n = readInto(
            input.fd,
            m.pointer(w.start - w.mapStart + filled),
            w.length - filled,
            input.path,
          );
          if (n === 0) {
            ended = true;
            break;
          }
          filled += n;
          progress?.(done + filled);
        }
        durable = target.persist(m, w.start, filled) && durable;
      }
    } catch (e) {
      throw madeDurable(e, done, offset);
    }
    done += filled;
    if (ended) break;
  }
  return { done, durable, ended, mapped };
}

/** What a one-thread write did before its current window, for a fault's message. */
function durableBefore(done: number, offset: number): string {
  return `the first ${done} bytes from offset ${offset} were written and made durable`;
}

/** Zeroes `[offset, offset+length)`, window by window, each made durable. */
export async function zeroRange(
  target: Target,
  offset: number,
  length: number,
  progress?: OnProgress,
  poll?: Poll,
  jobs = 1,
): Promise<WriteReport> {
  checkRange(target, offset, length);
  checkBadBlocks(target, offset, length);
  const why = await reserve(target, offset, length, poll);
  if (why) throw new Interrupted("map zero", why, 0, "nothing was written");
  const threads = threadsFor(target, length, jobs);
  const what = `zeroed from offset ${offset} and made durable`;
  if (threads > 1) {
    const r = await transferParallel(
      target,
      { op: "zero", offset },
      length,
      threads,
      progress,
      poll,
    );
    return settle(target, "map zero", r, what, threads);
  }
  if (!target.dax) {
    const r = await writePageCache(
      target,
      offset,
      length,
      undefined,
      progress,
      poll,
    );
    return settle(target, "map zero", r, what, 1);
  }
  let done = 0;
  let durable = true;
  for (const w of windows(offset, length, target.align)) {
    const why = await poll?.();
    if (why) {
      target.flush();
      throw new Interrupted(
        "map zero",
        why,
        done,
        `zeroed from offset ${offset} and made durable`,
      );
    }
    try {
      using m = target.map(w, true, durableBefore(done, offset));
      durable = zeroIn(target, m, w.start, w.length) && durable;
    } catch (e) {
      throw madeDurable(e, done, offset);
    }
    done += w.length;
    progress?.(done);
  }
  target.flush();
  if (done !== length) {
    throw new SystemError(target.path, `zeroed ${done} of ${length} bytes`);
  }
  return { bytes: done, durable, jobs: 1 };
}
