/**
 * `pmemctl verify`: scan (read-only), destructive (fill, then verify),
 * stamp / check (a pattern and a header that outlive a power cycle), and rw
 * (save, test, restore each window; with a journal, an interrupted run
 * loses nothing).
 *
 * @module
 */

import {
  constants as C,
  dropCache,
  FileHandle,
  fsync,
  Mapping,
  OsError,
  pread,
  pwrite,
} from "../../ffi/mod.ts";
import { SystemError, UsageError } from "../errors.ts";
import { Target, windows } from "../map/target.ts";
import type { BadRange } from "../sysfs/nd.ts";
import {
  checkPattern,
  fillPattern,
  MismatchLog,
  type Pattern,
  patternFor,
} from "./pattern.ts";
import { decodeStamp, encodeStamp, STAMP_SIZE } from "./stamp.ts";

/** The stable modes. */
export const MODES = ["scan", "rw", "destructive", "stamp", "check"] as const;
export type VerifyMode = typeof MODES[number];

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
  /** Polled between windows in rw mode: true stops after restoring the window. */
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
  result: "pass" | "fail";
  seed?: number;
  passes?: number;
  stamp?: { offset: number; length: number; seed: number; time: string };
  /** Why the result is fail when no byte was compared (no stamp, unreadable log…). */
  reason?: string;
}

function randomSeed(): number {
  const v = new Uint32Array(2);
  crypto.getRandomValues(v);
  return (v[0] & 0x1fffff) * 2 ** 32 + v[1];
}

/** Fills `[offset, offset+length)` with pattern `p`, window by window, each made durable. */
function fill(
  t: Target,
  p: Pattern,
  offset: number,
  length: number,
  tick: (n: number) => void,
): void {
  for (const w of windows(offset, length, t.align)) {
    using m = t.map(w);
    fillPattern(p, m.bytes(w.start - w.mapStart, w.length), w.start);
    t.persist(m, w.start, w.length);
    tick(w.length);
  }
  t.flush();
  // Read back from the device, not from the page cache the writes went through.
  if (t.kind !== "devdax") dropCache(t.file.fd, t.path);
}

/** Compares `[offset, offset+length)` with pattern `p`. */
function compare(
  t: Target,
  p: Pattern,
  offset: number,
  length: number,
  log: MismatchLog,
  tick: (n: number) => void,
): void {
  for (const w of windows(offset, length, t.align)) {
    using m = t.map(w);
    checkPattern(p, m.bytes(w.start - w.mapStart, w.length), w.start, log);
    tick(w.length);
  }
}

/** Reads everything with pread (O_DIRECT on block devices: poison is an EIO, pinpointed per sector). */
function scan(
  t: Target,
  offset: number,
  length: number,
  bad: BadRange[],
  log: MismatchLog,
  tick: (n: number) => void,
): void {
  if (t.kind === "devdax") {
    // Device-DAX has no read(2): touch every cache line through the mapping,
    // except known bad blocks, whose poison would kill the process (SIGBUS).
    for (const w of windows(offset, length, t.align)) {
      using m = t.map(w);
      let x = 0;
      for (const [from, to] of outside(w.start, w.start + w.length, bad)) {
        const view = m.bytes(from - w.mapStart, to - from);
        for (let i = 0; i < view.length; i += 64) x ^= view[i];
      }
      // Using the XOR (never 256) keeps the reads from being optimised away.
      if (x === 256) throw new Error("unreachable");
      tick(w.length);
    }
    return;
  }
  const direct = t.kind === "block";
  using f = new FileHandle(t.path, C.O_RDONLY | (direct ? C.O_DIRECT : 0));
  const chunk = 1 << 20;
  using buffer = Mapping.anonymous(chunk);
  const unit = direct ? 512 : 4096;
  const start = offset - (offset % unit);
  const end = Math.min(t.size, Math.ceil((offset + length) / unit) * unit);
  for (let at = start; at < end; at += chunk) {
    const n = Math.min(chunk, end - at);
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
          log.addRange(s, unit, "EIO");
        }
      }
    }
    tick(Math.min(at + n, offset + length) - Math.max(at, offset));
  }
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

// --- the rw journal -------------------------------------------------------

const JOURNAL_MAGIC = "PMJRNL01";
const JOURNAL_HEADER = 4096;

interface JournalHeader {
  path: string;
  runOffset: number;
  runLength: number;
  seed: number;
  /** The window whose original bytes follow the header. */
  window: number;
  windowLength: number;
  /** The window is being tested: its saved bytes must go back. */
  active: boolean;
}

function writeJournalHeader(fd: number, path: string, h: JournalHeader): void {
  const out = new Uint8Array(JOURNAL_HEADER);
  const json = new TextEncoder().encode(JSON.stringify(h));
  out.set(new TextEncoder().encode(JOURNAL_MAGIC), 0);
  new DataView(out.buffer).setUint32(8, json.length, true);
  out.set(json, 12);
  if (pwrite(fd, out, 0, path) !== out.length) {
    throw new SystemError(path, "short write of the journal header");
  }
}

function readJournalHeader(fd: number, path: string): JournalHeader {
  const head = new Uint8Array(JOURNAL_HEADER);
  pread(fd, head, 0, path);
  if (new TextDecoder().decode(head.subarray(0, 8)) !== JOURNAL_MAGIC) {
    throw new UsageError(path, "is not a pmemctl rw journal");
  }
  const n = new DataView(head.buffer).getUint32(8, true);
  return JSON.parse(new TextDecoder().decode(head.subarray(12, 12 + n)));
}

/** Writes the saved window back to the target and makes it durable. */
function restoreWindow(t: Target, start: number, saved: Uint8Array): void {
  const [w] = windows(
    start,
    saved.length,
    t.align,
    Math.max(saved.length, t.align),
  );
  using m = t.map(w);
  m.bytes(w.start - w.mapStart, w.length).set(saved);
  t.persist(m, w.start, w.length);
}

async function rw(
  t: Target,
  o: VerifyOptions,
  offset: number,
  length: number,
  seed: number,
  log: MismatchLog,
  tick: (n: number) => void,
): Promise<string | undefined> {
  using journal = o.journal
    ? new FileHandle(o.journal, C.O_RDWR | C.O_CREAT, 0o600)
    : undefined;
  // The run's range and seed, with the window under test (if `active`).
  const note = (window: number, windowLength: number, active: boolean) => {
    if (!journal) return;
    const h: JournalHeader = {
      path: t.path,
      runOffset: offset,
      runLength: length,
      seed,
      window,
      windowLength,
      active,
    };
    writeJournalHeader(journal.fd, o.journal!, h);
    fsync(journal.fd, o.journal!);
  };
  // A journal is valid from the first instant: the run's range, nothing under test yet.
  note(offset, 0, false);
  const p = patternFor(seed, 0);
  for (const w of windows(offset, length, t.align)) {
    using m = t.map(w);
    const view = m.bytes(w.start - w.mapStart, w.length);
    const saved = view.slice();
    if (journal) {
      // The saved bytes reach the disk before the window is touched.
      if (
        pwrite(journal.fd, saved, JOURNAL_HEADER, o.journal!) !== saved.length
      ) {
        throw new SystemError(o.journal!, "short write of saved data");
      }
      fsync(journal.fd, o.journal!);
      note(w.start, w.length, true);
    }
    fillPattern(p, view, w.start);
    t.persist(m, w.start, w.length);
    checkPattern(p, view, w.start, log);
    view.set(saved);
    t.persist(m, w.start, w.length);
    if (journal) {
      note(w.start + w.length, 0, false);
    }
    tick(w.length);
    // Let signal handlers run; stop only between windows, with this one restored.
    await new Promise((r) => setTimeout(r, 0));
    const why = o.interrupted?.();
    if (why) return why;
  }
  t.flush();
  return undefined;
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
  using t = Target.open(path, writes ? "write" : "read");
  const started = performance.now();
  const log = new MismatchLog();
  let offset = o.offset;
  let length = o.length ?? Math.max(0, t.size - offset);
  let seed = o.seed ?? randomSeed();
  let checked = 0;
  let total = length;
  const tick = (n: number) => {
    checked += n;
    o.progress?.(checked, total);
  };
  const report = (extra: Partial<VerifyReport> = {}): VerifyReport => {
    const seconds = (performance.now() - started) / 1000;
    const failed = log.count > 0 || log.ranges.length > 0 ||
      extra.reason !== undefined;
    return {
      path,
      mode: o.mode,
      offset,
      length,
      bytes_checked: checked,
      mismatch_count: log.count,
      mismatches: log.first,
      bad_ranges: log.ranges,
      seconds: Math.round(seconds * 1000) / 1000,
      bytes_per_second: seconds > 0 ? Math.round(checked / seconds) : 0,
      result: failed ? "fail" : "pass",
      ...extra,
    };
  };

  if (o.mode === "check") {
    const head = new Uint8Array(
      Math.min(STAMP_SIZE, Math.max(0, t.size - offset)),
    );
    if (head.length > 0) {
      const [w] = windows(offset, head.length, t.align);
      using m = t.map(w);
      head.set(m.bytes(w.start - w.mapStart, head.length));
    }
    const read = decodeStamp(head);
    if ("missing" in read) {
      return report({ reason: `${read.missing} at offset ${offset}` });
    }
    const s = read.stamp;
    if (s.offset !== offset || s.offset + s.length > t.size) {
      return report({
        reason:
          `the stamp at offset ${offset} records range ${s.offset}+${s.length}, which does not fit here`,
      });
    }
    offset = s.offset;
    length = s.length;
    total = length - STAMP_SIZE;
    seed = s.seed;
    compare(
      t,
      patternFor(seed),
      offset + STAMP_SIZE,
      length - STAMP_SIZE,
      log,
      tick,
    );
    return report({
      seed,
      stamp: {
        offset: s.offset,
        length: s.length,
        seed: s.seed,
        time: new Date(s.time).toISOString(),
      },
    });
  }

  t.checkRange(offset, length);
  if (o.mode === "scan") {
    const bad = knownBadBlocks(t, offset, length, log);
    scan(t, offset, length, bad, log, tick);
    return report();
  }
  t.checkBadBlocks(offset, length);
  if (o.mode === "destructive") {
    total = length * o.passes;
    checked = 0;
    for (let pass = 0; pass < o.passes; pass++) {
      const p = patternFor(seed, pass);
      fill(t, p, offset, length, () => {});
      compare(t, p, offset, length, log, tick);
    }
    return report({ seed, passes: o.passes });
  }
  if (o.mode === "stamp") {
    if (length < STAMP_SIZE) {
      throw new UsageError(
        "--length",
        `a stamp needs at least ${STAMP_SIZE} bytes`,
      );
    }
    total = length - STAMP_SIZE;
    fill(t, patternFor(seed), offset + STAMP_SIZE, length - STAMP_SIZE, tick);
    // The header goes last: a stamp cut short by a crash has none.
    const header = encodeStamp({ seed, offset, length, time: Date.now() });
    const [w] = windows(offset, STAMP_SIZE, t.align);
    using m = t.map(w);
    m.bytes(w.start - w.mapStart, STAMP_SIZE).set(header);
    t.persist(m, offset, STAMP_SIZE);
    t.flush();
    return report({
      seed,
      stamp: { offset, length, seed, time: new Date().toISOString() },
    });
  }
  // rw
  if (o.resume) {
    using j = new FileHandle(o.journal!, C.O_RDWR);
    const h = readJournalHeader(j.fd, o.journal!);
    if (h.path !== path) {
      throw new UsageError(o.journal!, `journals ${h.path}, not ${path}`);
    }
    if (h.active) {
      const saved = new Uint8Array(h.windowLength);
      pread(j.fd, saved, JOURNAL_HEADER, o.journal!);
      restoreWindow(t, h.window, saved);
      t.flush();
      writeJournalHeader(j.fd, o.journal!, {
        ...h,
        window: h.window + h.windowLength,
        windowLength: 0,
        active: false,
      });
      fsync(j.fd, o.journal!);
    }
    const next = h.active ? h.window + h.windowLength : h.window;
    offset = next;
    length = h.runOffset + h.runLength - next;
    total = length;
    seed = h.seed;
  }
  const stopped = await rw(t, o, offset, length, seed, log, tick);
  if (stopped) {
    throw new SystemError(
      "verify",
      `${stopped}: stopped after ${checked} bytes, every tested window restored`,
    );
  }
  return report({ seed });
}
