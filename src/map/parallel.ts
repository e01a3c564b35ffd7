/**
 * `map --jobs N`: a transfer of known length between a target and a
 * regular file (an input read with pread, an output written with pwrite),
 * cut into pieces the threads of a pool (src/jobs/pool.ts) take in offset
 * order. A thread finishes every piece it takes — made durable like a
 * window of one thread (fdatasync, or the DAX target's persist) — and
 * looks for a stop only before taking the next, so a transfer stopped by a
 * signal has done exactly its first pieces: a prefix, as with one thread.
 *
 * @module
 */

import { fdatasync, Mapping, preadFull, pwriteFull } from "../../ffi/mod.ts";
import { PmemctlError, SystemError, UsageError } from "../errors.ts";
import {
  pieces,
  pieceUnit,
  Pool,
  type Range,
  type ThreadControl,
} from "../jobs/pool.ts";
import type { Poll } from "../safety/interrupt.ts";
import { copyFromInput, type Stream } from "./input.ts";
import { preadAll, pwriteAll } from "../target/io.ts";
import { zeroIn } from "../target/durability.ts";
import type { Target } from "../target/target.ts";
import { windows } from "../target/windows.ts";
import { checkStillHolds } from "../target/checks.ts";

/** Bytes per pread/pwrite of a page-cache piece. */
const CHUNK = 1 << 20;

/** A transfer as every thread receives it. */
export interface MapJob {
  op: "write" | "read" | "zero";
  /** The range's first byte in the target. */
  offset: number;
  pieces: Range[];
  /** write: the input, and where the range's first byte is in it; read: the output, and where it goes. */
  peer?: Stream & { at: number };
}

/** One thread's share. */
export interface MapResult {
  bytes: number;
  durable: boolean;
}

/** Reads `buf.length` bytes of `s` at `offset`; an input that ends first shrank. */
function preadPeer(s: Stream, buf: Uint8Array, offset: number): void {
  const n = preadFull(s.fd, buf, offset, s.path);
  if (n < buf.length) {
    throw new SystemError(
      s.path,
      `shrank while being copied: nothing to read at offset ${offset + n}`,
    );
  }
}

/** Writes all of `buf` to `s` at `offset`. */
function pwritePeer(s: Stream, buf: Uint8Array, offset: number): void {
  const n = pwriteFull(s.fd, buf, offset, s.path);
  if (n < buf.length) {
    throw new SystemError(s.path, `no room at offset ${offset + n}`);
  }
}

/** Moves one piece through the page cache, durable (fdatasync) when written. */
function pageCachePiece(
  t: Target,
  job: MapJob,
  piece: Range,
  buf: Uint8Array,
  tick: (n: number) => void,
): void {
  const end = piece.offset + piece.length;
  if (job.op !== "read") checkStillHolds(t, end);
  if (job.op === "zero") buf.fill(0);
  for (let at = piece.offset; at < end;) {
    const view = buf.subarray(0, Math.min(CHUNK, end - at));
    const peerAt = job.peer ? job.peer.at + at - job.offset : 0;
    if (job.op === "read") {
      preadAll(t, view, at);
      pwritePeer(job.peer!, view, peerAt);
    } else {
      if (job.op === "write") preadPeer(job.peer!, view, peerAt);
      pwriteAll(t, view, at);
    }
    at += view.length;
    tick(view.length);
  }
  if (job.op !== "read") fdatasync(t.file.fd, t.path);
}

/** Moves one piece of a DAX target through its mapping, window by window; whether it is durable. */
function daxPiece(
  t: Target,
  job: MapJob,
  piece: Range,
  tick: (n: number) => void,
): boolean {
  let durable = true;
  for (const w of windows(piece.offset, piece.length, t.align)) {
    using m = t.map(w);
    const bytes = m.bytes(w.start - w.mapStart, w.length);
    const peerAt = job.peer ? job.peer.at + w.start - job.offset : 0;
    if (job.op === "read") pwritePeer(job.peer!, bytes, peerAt);
    else {
      let copied: boolean | undefined;
      if (job.op === "write") {
        const input = job.peer!;
        copied = copyFromInput(t, m, w.start, input, peerAt, w.length);
        if (copied === undefined) preadPeer(input, bytes, peerAt);
      } else copied = zeroIn(t, m, w.start, w.length);
      durable = (copied ?? t.persist(m, w.start, w.length)) && durable;
    }
    tick(w.length);
  }
  return durable;
}

/**
 * One thread's part: pieces taken from the shared counter until none is
 * left or the run stops. `poll` (the main thread's signals) is asked
 * before each piece.
 */
export async function drainMap(
  t: Target,
  job: MapJob,
  c: ThreadControl,
  poll?: Poll,
): Promise<MapResult> {
  // Page-aligned, as O_DIRECT wants its memory (block devices).
  using mem = Mapping.anonymous(t.dax ? 4096 : CHUNK);
  const buf = mem.bytes();
  let bytes = 0;
  let durable = true;
  const tick = (n: number) => c.progress(bytes += n);
  for (;;) {
    if (poll && await poll()) c.stop();
    const i = c.take(job.pieces.length);
    if (i === undefined) break;
    const piece = job.pieces[i];
    try {
      if (t.dax) durable = daxPiece(t, job, piece, tick) && durable;
      else pageCachePiece(t, job, piece, buf, tick);
    } catch (e) {
      c.failed(i);
      throw e;
    }
  }
  return { bytes, durable };
}

/** What a parallel transfer did. */
export interface Moved {
  /** Bytes from the range's start, all moved (and, for writes, durable). */
  bytes: number;
  durable: boolean;
  /** Why it stopped early, when a signal came. */
  stopped?: string;
}

/**
 * Runs `job` (its pieces cut here from `length`) on `n` threads; on a
 * signal, every thread finishes the piece it holds, so the bytes moved are
 * the range's first `bytes`.
 */
export async function transferParallel(
  t: Target,
  job: Omit<MapJob, "pieces">,
  length: number,
  n: number,
  progress?: (done: number) => void,
  poll?: Poll,
): Promise<Moved> {
  const all: MapJob = {
    ...job,
    pieces: pieces({ offset: job.offset, length }, pieceUnit(t)),
  };
  using pool = new Pool(t, n, "src/map/worker.ts", `map ${job.op}`);
  let stopped: string | undefined;
  // Between the main thread's pieces, and while it waits for the workers.
  const watch = async () => {
    progress?.(pool.control.done());
    return stopped ??= await poll?.();
  };
  const prefix = (n: number) =>
    all.pieces.slice(0, n).reduce((s, p) => s + p.length, 0);
  let joined;
  try {
    joined = await pool.run<MapResult>(
      all,
      all.pieces.length,
      (c) => drainMap(t, all, c, watch),
      watch,
    );
  } catch (e) {
    // Every piece before the first that failed was finished: say so.
    const failed = pool.control.firstFailed();
    if (!(e instanceof PmemctlError) || failed === undefined) throw e;
    const done = job.op === "read" ? "written out" : "written and made durable";
    const why = `${e.why}; the first ${
      prefix(failed)
    } bytes from offset ${job.offset} were ${done}`;
    throw e instanceof UsageError
      ? new UsageError(e.what, why)
      : new SystemError(e.what, why);
  }
  const { results, taken } = joined;
  const durable = results.every((r) => r.durable);
  // Every piece handed out was finished: the first `taken` are the bytes moved.
  const bytes = prefix(taken);
  return bytes < length
    ? { bytes, durable, stopped: stopped ?? "stopped" }
    : { bytes, durable };
}
