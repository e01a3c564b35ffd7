/**
 * The window walk every verify mode shares: a run's mismatch log,
 * progress, durability and interruption, and the pattern passes (fill,
 * compare) over a range, window by window, stopping between two windows
 * once a signal came.
 *
 * @module
 */

import { dropCache, fdatasync } from "../../ffi/mod.ts";
import { preadAll, pwriteAll } from "../target/io.ts";
import type { Target } from "../target/target.ts";
import { type Range, type Window, windows } from "../target/windows.ts";
import type { BadRange } from "../sysfs/nd.ts";
import {
  activeCode,
  checkPattern,
  fillPattern,
  MismatchLog,
  type Pattern,
  patternBuffer,
} from "./pattern.ts";
import { checkStillHolds } from "../target/checks.ts";
import { copyOut, copyUnflushed } from "../target/durability.ts";

/** Work one thread does on its share of a range (see jobs.ts). */
export type Task =
  | { task: "fill" | "compare"; pattern: Pattern }
  | { task: "scan"; bad: BadRange[] };

/** Runs a task over a range on several threads (jobs.ts), merging into `run`. */
export interface Parallel {
  /**
   * Splits `range` among the threads and waits for all; adds their bytes to
   * `run.checked` when `counted`. False when the run was stopped.
   */
  run(task: Task, range: Range, run: Run, counted: boolean): Promise<boolean>;
}

/** What a run reports to and asks of its caller. */
export interface RunHooks {
  progress?: (done: number, total: number) => void;
  /** Polled between windows: a reason (`interrupted by SIGINT`) stops the run there. */
  interrupted?: () => string | undefined;
}

export type { Range } from "../target/windows.ts";

/** One run's shared state: the mismatch log, progress, durability, interruption. */
export class Run {
  log: MismatchLog = new MismatchLog();
  checked = 0;
  total = 0;
  durable = true;
  stopped: string | undefined;

  /** Threads to spread fills, compares and scans over (`--jobs`), if more than one. */
  jobs: Parallel | undefined;

  constructor(private readonly o: RunHooks) {}

  tick = (n: number): void => {
    this.checked += n;
    this.o.progress?.(this.checked, this.total);
  };

  #buffer: Uint8Array | undefined;

  /**
   * The buffer for pread/pwrite: a chunk, and 8 bytes to align it with any
   * offset. It is the thread's pattern buffer (pattern.ts), shared by the
   * thread's runs, which never use it at the same time.
   */
  ioBuffer(): Uint8Array {
    return this.#buffer ??= patternBuffer(CHUNK + 8);
  }

  /** Progress with `pending` bytes that other threads have done but not yet handed in. */
  progressWith(pending: number): void {
    this.o.progress?.(this.checked + pending, this.total);
  }

  /** The reason to stop, once there is one, without a turn of the event loop. */
  checkStop(): string | undefined {
    return this.stopped ??= this.o.interrupted?.();
  }

  #lastPoll = 0;

  /**
   * Lets signal handlers run (a turn of the event loop, at most every 50 ms:
   * each costs about a millisecond, which per 16 MiB window was a third of
   * a 1 GiB scan); the reason to stop, once there is one.
   */
  async poll(): Promise<string | undefined> {
    const now = performance.now();
    if (now - this.#lastPoll >= 50) {
      await new Promise((r) => setTimeout(r, 0));
      this.#lastPoll = performance.now();
    }
    return this.stopped ??= this.o.interrupted?.();
  }

  persisted(ok: boolean): void {
    this.durable &&= ok;
  }

  /**
   * Calls `fn` on each window of the range; between windows, lets signal
   * handlers run and stops (returning false) once interrupted.
   */
  async each(
    t: Target,
    offset: number,
    length: number,
    fn: (w: Window) => void | Promise<void>,
  ): Promise<boolean> {
    for (const w of windows(offset, length, t.align)) {
      if (this.stopped) return false;
      await fn(w);
      await this.poll();
    }
    return this.stopped === undefined;
  }
}

/** Bytes per pread/pwrite on page-cache targets. */
const CHUNK = 1 << 20;

/**
 * The window's bytes in pieces of at most {@link CHUNK}, cut on absolute
 * multiples of it, each with a view of `buf` whose address is congruent to
 * its offset modulo 8 (the pattern then runs on whole words).
 */
function* chunks(
  w: Window,
  buf: Uint8Array,
): Generator<[number, Uint8Array]> {
  const end = w.start + w.length;
  for (let at = w.start; at < end;) {
    const next = Math.min(end, (Math.floor(at / CHUNK) + 1) * CHUNK);
    yield [at, buf.subarray(at % 8, at % 8 + next - at)];
    at = next;
  }
}

/**
 * Fills window `w` with pattern `p` and makes it durable. Page-cache
 * targets (files, tmpfs, /dev/pmemN) take the pattern through pwrite from
 * a buffer the CPU cache holds, then fdatasync: the kernel copies through
 * its own mapping of each page, where a user mapping pays for setting up
 * and tearing down every page's entry (bench/verify_compare.ts), and a
 * store cannot fault (SIGBUS). DAX targets take it through the mapping:
 * made by pattern.wat's SIMD code in its memory, a piece at a time, and
 * copied in (on device-DAX with libpmem's non-temporal stores, which need
 * no flush pass); where the SIMD code cannot run (a baseline CPU), the
 * JavaScript loops write the mapping directly.
 */
export function fillWindow(t: Target, p: Pattern, w: Window, run: Run): void {
  if (!t.dax) {
    checkStillHolds(t, w.start + w.length);
    for (const [at, view] of chunks(w, run.ioBuffer())) {
      fillPattern(p, view, at);
      pwriteAll(t, view, at);
    }
    fdatasync(t.file.fd, t.path);
    return;
  }
  using m = t.map(w);
  if (activeCode() !== "simd") {
    fillPattern(p, m.bytes(w.start - w.mapStart, w.length), w.start);
    run.persisted(t.persist(m, w.start, w.length));
    return;
  }
  let durable = true;
  for (const [at, view] of chunks(w, run.ioBuffer())) {
    fillPattern(p, view, at);
    durable = copyUnflushed(t, m, at, pointerTo(view), view.length) &&
      durable;
  }
  run.persisted(durable || t.persist(m, w.start, w.length));
}

/**
 * Compares window `w` with pattern `p`, logging differences: through pread
 * on page-cache targets, as {@link fillWindow}; on DAX targets copied out
 * of the mapping into pattern.wat's memory a piece at a time and checked
 * there by its SIMD code (or checked in the mapping by the JavaScript
 * loops on a baseline CPU).
 */
export function compareWindow(
  t: Target,
  p: Pattern,
  w: Window,
  run: Run,
): void {
  if (!t.dax) {
    for (const [at, view] of chunks(w, run.ioBuffer())) {
      preadAll(t, view, at);
      checkPattern(p, view, at, run.log);
    }
    return;
  }
  using m = t.map(w);
  if (activeCode() !== "simd") {
    checkPattern(p, m.bytes(w.start - w.mapStart, w.length), w.start, run.log);
    return;
  }
  for (const [at, view] of chunks(w, run.ioBuffer())) {
    copyOut(m, at, pointerTo(view), view.length);
    checkPattern(p, view, at, run.log);
  }
}

/** The address of `view`'s first byte. */
function pointerTo(view: Uint8Array): Deno.PointerObject {
  return Deno.UnsafePointer.of(view)!;
}

/**
 * Fills the range with pattern `p`, window by window, each made durable;
 * `counted`: the bytes count as checked (stamp), or not (destructive, which
 * counts its compare).
 */
export async function fill(
  t: Target,
  p: Pattern,
  range: Range,
  run: Run,
  counted: boolean,
): Promise<boolean> {
  const done = run.jobs
    ? await run.jobs.run({ task: "fill", pattern: p }, range, run, counted)
    : await run.each(t, range.offset, range.length, (w) => {
      fillWindow(t, p, w, run);
      if (counted) run.tick(w.length);
    });
  t.flush();
  // Read back from the device, not from the page cache the writes went through.
  if (t.kind !== "devdax") dropCache(t.file.fd, t.path);
  return done;
}

/** Compares the range with pattern `p`. */
export function compare(
  t: Target,
  p: Pattern,
  range: Range,
  run: Run,
): Promise<boolean> {
  if (run.jobs) {
    return run.jobs.run({ task: "compare", pattern: p }, range, run, true);
  }
  return run.each(t, range.offset, range.length, (w) => {
    compareWindow(t, p, w, run);
    run.tick(w.length);
  });
}
