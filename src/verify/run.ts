/**
 * `pmemctl verify`: scan (read-only), destructive (fill, then verify),
 * stamp / check (a pattern and a header that outlive a power cycle), and rw
 * (save, test, restore each window; with a journal, an interrupted run
 * loses nothing).
 *
 * Every mode walks its range window by window and stops between two
 * windows when `interrupted()` says so (SIGINT, SIGTERM), with the target
 * as the mode promises: rw restored, destructive and stamp reported as
 * interrupted with what was checked.
 *
 * @module
 */

import {
  blkSszGet,
  constants as C,
  dropCache,
  FileHandle,
  Mapping,
  OsError,
  pageSize,
  pread,
} from "../../ffi/mod.ts";
import { SystemError, UsageError } from "../errors.ts";
import { Target, type Window, windows } from "../map/target.ts";
import { refuseTarget } from "../safety/identity.ts";
import type { BadRange } from "../sysfs/nd.ts";
import { Journal, journalTarget } from "./journal.ts";
import {
  checkPattern,
  fillPattern,
  MismatchLog,
  type Pattern,
  patternFor,
} from "./pattern.ts";
import {
  decodeStamp,
  encodeStamp,
  STAMP_PATTERN_AT,
  STAMP_SIZE,
} from "./stamp.ts";

import type { VerifyMode } from "./modes.ts";
export { MODES, type VerifyMode } from "./modes.ts";

/** What `verify` is asked to do. */
export interface VerifyOptions {
  mode: VerifyMode;
  offset: number;
  length?: number;
  seed?: number;
  passes: number;
  journal?: string;
  resume: boolean;
  force: boolean;
  progress?: (done: number, total: number) => void;
  /** Polled between windows: a reason (`interrupted by SIGINT`) stops the run there. */
  interrupted?: () => string | undefined;
}

/** The report (spec keys first). */
export interface VerifyReport {
  path: string;
  mode: VerifyMode;
  offset: number;
  length: number;
  bytes_checked: number;
  mismatch_count: number;
  mismatches: { offset: number; expected: number; actual: number }[];
  bad_ranges: { offset: number; length: number; reason: string }[];
  seconds: number;
  bytes_per_second: number;
  /** Everything this run wrote was made durable by a real flush (true when it wrote nothing). */
  durable: boolean;
  result: "pass" | "fail";
  seed?: number;
  passes?: number;
  stamp?: { offset: number; length: number; seed: number; time: string };
  /** Why the result is fail when no byte was compared (no stamp, unreadable log…). */
  reason?: string;
  /** Set when a signal stopped the run before its end. */
  interrupted?: string;
}

/** A byte range of the target. */
interface Range {
  offset: number;
  length: number;
}

/** One run's shared state: the mismatch log, progress, durability, interruption. */
class Run {
  readonly log = new MismatchLog();
  checked = 0;
  total = 0;
  durable = true;
  stopped: string | undefined;

  constructor(private readonly o: VerifyOptions) {}

  tick = (n: number): void => {
    this.checked += n;
    this.o.progress?.(this.checked, this.total);
  };

  /** Lets signal handlers run; the reason to stop, once there is one. */
  async poll(): Promise<string | undefined> {
    await new Promise((r) => setTimeout(r, 0));
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

function randomSeed(): number {
  const v = new Uint32Array(2);
  crypto.getRandomValues(v);
  return (v[0] & 0x1fffff) * 2 ** 32 + v[1];
}

/** Fills the range with pattern `p`, window by window, each made durable. */
async function fill(
  t: Target,
  p: Pattern,
  range: Range,
  run: Run,
  tick: (n: number) => void,
): Promise<boolean> {
  const done = await run.each(t, range.offset, range.length, (w) => {
    using m = t.map(w);
    fillPattern(p, m.bytes(w.start - w.mapStart, w.length), w.start);
    run.persisted(t.persist(m, w.start, w.length));
    tick(w.length);
  });
  t.flush();
  // Read back from the device, not from the page cache the writes went through.
  if (t.kind !== "devdax") dropCache(t.file.fd, t.path);
  return done;
}

/** Compares the range with pattern `p`. */
function compare(t: Target, p: Pattern, range: Range, run: Run) {
  return run.each(t, range.offset, range.length, (w) => {
    using m = t.map(w);
    checkPattern(p, m.bytes(w.start - w.mapStart, w.length), w.start, run.log);
    run.tick(w.length);
  });
}

/** Reads everything with pread (O_DIRECT on block devices: poison is an EIO, pinpointed per sector). */
async function scan(t: Target, range: Range, bad: BadRange[], run: Run) {
  const { offset, length } = range;
  if (t.kind === "devdax") {
    // Device-DAX has no read(2): touch every cache line through the mapping,
    // except known bad blocks, whose poison would kill the process (SIGBUS).
    await run.each(t, offset, length, (w) => {
      using m = t.map(w);
      let x = 0;
      for (const [from, to] of outside(w.start, w.start + w.length, bad)) {
        const view = m.bytes(from - w.mapStart, to - from);
        for (let i = 0; i < view.length; i += 64) x ^= view[i];
      }
      // Using the XOR (never 256) keeps the reads from being optimised away.
      if (x === 256) throw new Error("unreachable");
      run.tick(w.length);
    });
    return;
  }
  const direct = t.kind === "block";
  using f = new FileHandle(t.path, C.O_RDONLY | (direct ? C.O_DIRECT : 0));
  const chunk = 1 << 20;
  using buffer = Mapping.anonymous(chunk);
  // O_DIRECT reads in the device's logical blocks; page cache reads in pages.
  const unit = direct ? blkSszGet(f.fd, t.path) : pageSize();
  const start = offset - (offset % unit);
  const end = Math.min(t.size, Math.ceil((offset + length) / unit) * unit);
  // The windows only pace the walk (and its interruption); pread reads.
  await run.each(t, start, end - start, (w) => {
    for (let at = w.start; at < w.start + w.length; at += chunk) {
      const n = Math.min(chunk, w.start + w.length - at);
      try {
        pread(f.fd, buffer.bytes(0, n), at, t.path);
      } catch (e) {
        if (!(e instanceof OsError && e.code === "EIO")) throw e;
        // Pinpoint: sector by sector (page by page without O_DIRECT).
        for (let s = at; s < at + n; s += unit) {
          try {
            pread(f.fd, buffer.bytes(0, unit), s, t.path);
          } catch (e2) {
            if (!(e2 instanceof OsError && e2.code === "EIO")) throw e2;
            run.log.addRange(s, unit, "EIO");
          }
        }
      }
      run.tick(Math.min(at + n, offset + length) - Math.max(at, offset));
    }
  });
}

/**
 * Logs the target's known bad blocks inside the range (the block device's
 * list, or device-DAX's from its region) and returns them.
 */
function knownBadBlocks(
  t: Target,
  offset: number,
  length: number,
  log: MismatchLog,
): BadRange[] {
  const inside = t.knownBadRanges().ranges.filter((b) =>
    b.start < offset + length && b.end > offset
  );
  for (const b of inside) log.addRange(b.start, b.end - b.start, "badblocks");
  return inside;
}

/** The parts of `[start, end)` outside every range of `holes`. */
export function outside(
  start: number,
  end: number,
  holes: { start: number; end: number }[],
): [number, number][] {
  const out: [number, number][] = [];
  let at = start;
  for (const h of [...holes].sort((a, b) => a.start - b.start)) {
    if (h.end <= at || h.start >= end) continue;
    if (h.start > at) out.push([at, h.start]);
    at = Math.max(at, h.end);
  }
  if (at < end) out.push([at, end]);
  return out;
}

// --- rw ---------------------------------------------------------------------

/** Writes the saved window back to the target and makes it durable. */
function restoreWindow(t: Target, start: number, saved: Uint8Array): boolean {
  const [w] = windows(
    start,
    saved.length,
    t.align,
    Math.max(saved.length, t.align),
  );
  using m = t.map(w);
  m.bytes(w.start - w.mapStart, w.length).set(saved);
  return t.persist(m, w.start, w.length);
}

/** Save, test and restore each window; the journal (if any) saves first. */
async function rw(
  t: Target,
  journal: Journal | undefined,
  range: Range,
  seed: number,
  run: Run,
): Promise<void> {
  const p = patternFor(seed, 0);
  await run.each(t, range.offset, range.length, async (w) => {
    using m = t.map(w);
    const view = m.bytes(w.start - w.mapStart, w.length);
    const saved = view.slice();
    // The saved bytes reach the disk before the window is touched.
    await journal?.save(w.start, saved);
    fillPattern(p, view, w.start);
    run.persisted(t.persist(m, w.start, w.length));
    checkPattern(p, view, w.start, run.log);
    view.set(saved);
    run.persisted(t.persist(m, w.start, w.length));
    await journal?.advance(w.start + w.length);
    run.tick(w.length);
  });
  t.flush();
}

/** Runs a verification and returns its report. */
export async function verify(
  path: string,
  o: VerifyOptions,
): Promise<VerifyReport> {
  const writes = o.mode === "destructive" || o.mode === "stamp" ||
    o.mode === "rw";
  if ((o.mode === "destructive" || o.mode === "stamp") && !o.force) {
    throw new UsageError(
      `verify --mode ${o.mode}`,
      "overwrites the range: pass --force",
    );
  }
  if (o.resume && !o.journal) {
    throw new UsageError("--resume", "needs --journal FILE");
  }
  if (o.resume && o.mode !== "rw") {
    throw new UsageError("--resume", "goes with --mode rw");
  }
  if (o.journal && o.mode !== "rw") {
    throw new UsageError("--journal", "goes with --mode rw");
  }
  using t = Target.open(path, writes ? "write" : "read", `verify ${o.mode}`);
  if (o.journal) refuseTarget(t, o.journal, "--journal");
  const started = performance.now();
  const run = new Run(o);
  const range: Range = {
    offset: o.offset,
    length: o.length ?? Math.max(0, t.size - o.offset),
  };
  let seed = o.seed ?? randomSeed();
  run.total = range.length;
  const report = (extra: Partial<VerifyReport> = {}): VerifyReport => {
    const seconds = (performance.now() - started) / 1000;
    const { log } = run;
    const failed = log.count > 0 || log.ranges.length > 0 ||
      extra.reason !== undefined || run.stopped !== undefined;
    return {
      path,
      mode: o.mode,
      offset: range.offset,
      length: range.length,
      bytes_checked: run.checked,
      mismatch_count: log.count,
      mismatches: log.first,
      bad_ranges: log.ranges,
      seconds: Math.round(seconds * 1000) / 1000,
      bytes_per_second: seconds > 0 ? Math.round(run.checked / seconds) : 0,
      durable: run.durable,
      result: failed ? "fail" : "pass",
      ...(run.stopped ? { interrupted: run.stopped } : {}),
      ...extra,
    };
  };

  if (o.mode === "check") {
    const at = range.offset;
    const head = new Uint8Array(
      Math.min(STAMP_SIZE, Math.max(0, t.size - at)),
    );
    if (head.length > 0) {
      const [w] = windows(at, head.length, t.align);
      using m = t.map(w);
      head.set(m.bytes(w.start - w.mapStart, head.length));
    }
    const read = decodeStamp(head, at, t.size);
    if ("missing" in read) {
      return report({ reason: `${read.missing} at offset ${at}` });
    }
    const s = read.stamp;
    range.length = s.length;
    seed = s.seed;
    const p = patternFor(seed);
    // The header page: its fields are checked above, the rest is pattern.
    run.total = s.length - STAMP_PATTERN_AT;
    checkPattern(
      p,
      head.subarray(STAMP_PATTERN_AT),
      at + STAMP_PATTERN_AT,
      run.log,
    );
    run.tick(STAMP_SIZE - STAMP_PATTERN_AT);
    await compare(t, p, {
      offset: at + STAMP_SIZE,
      length: s.length - STAMP_SIZE,
    }, run);
    return report({
      seed,
      stamp: { ...s, time: new Date(s.time).toISOString() },
    });
  }

  t.checkRange(range.offset, range.length);
  if (o.mode === "scan") {
    const bad = knownBadBlocks(t, range.offset, range.length, run.log);
    await scan(t, range, bad, run);
    return report();
  }
  t.checkBadBlocks(range.offset, range.length);
  const reserve = () => t.reserve(range.offset, range.length, () => run.poll());
  if (o.mode === "destructive") {
    if (await reserve()) return report({ seed, passes: o.passes });
    run.total = range.length * o.passes;
    for (let pass = 0; pass < o.passes && !run.stopped; pass++) {
      const p = patternFor(seed, pass);
      if (await fill(t, p, range, run, () => {})) {
        await compare(t, p, range, run);
      }
    }
    return report({ seed, passes: o.passes });
  }
  if (o.mode === "stamp") {
    if (range.length < STAMP_SIZE) {
      throw new UsageError(
        "--length",
        `a stamp needs at least ${STAMP_SIZE} bytes`,
      );
    }
    if (!t.canPersist()) {
      throw new SystemError(
        `verify --mode stamp ${path}`,
        "cannot make writes durable here (device-DAX without libpmem: apt-get install libpmem1), and a stamp that may sit in CPU caches proves nothing across power loss; nothing was written",
      );
    }
    if (await reserve()) return report({ seed });
    const { offset, length } = range;
    run.total = length - STAMP_PATTERN_AT;
    const p = patternFor(seed);
    const body = { offset: offset + STAMP_SIZE, length: length - STAMP_SIZE };
    if (!await fill(t, p, body, run, run.tick)) return report({ seed });
    // The header goes last: a stamp cut short by a crash has none.
    const time = Date.now();
    const header = encodeStamp({ seed, offset, length, time });
    fillPattern(
      p,
      header.subarray(STAMP_PATTERN_AT),
      offset + STAMP_PATTERN_AT,
    );
    const [w] = windows(offset, STAMP_SIZE, t.align);
    using m = t.map(w);
    m.bytes(w.start - w.mapStart, STAMP_SIZE).set(header);
    run.persisted(t.persist(m, offset, STAMP_SIZE));
    t.flush();
    run.tick(STAMP_SIZE - STAMP_PATTERN_AT);
    return report({
      seed,
      stamp: { offset, length, seed, time: new Date(time).toISOString() },
    });
  }
  // rw
  using journal = o.journal === undefined
    ? undefined
    : o.resume
    ? await Journal.resume(o.journal, journalTarget(t))
    : await Journal.start(o.journal, journalTarget(t), { ...range, seed });
  if (journal && o.resume) {
    const s = journal.state;
    if (s.active) {
      const saved = await journal.saved();
      t.checkStillHolds(s.window + s.windowLength);
      run.persisted(restoreWindow(t, s.window, saved));
      t.flush();
      await journal.advance(s.window + s.windowLength);
    }
    range.offset = journal.state.window;
    range.length = s.offset + s.length - range.offset;
    run.total = range.length;
    seed = s.seed;
  }
  if (await reserve()) return report({ seed });
  await rw(t, journal, range, seed, run);
  return report({ seed });
}
