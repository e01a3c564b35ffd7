/**
 * `pmemctl verify`: scan (read-only), destructive (fill, then verify),
 * stamp / check (a pattern and a header that outlive a power cycle), and rw
 * (save, test, restore each window; with a journal, an interrupted run
 * loses nothing). One module per mode (mode_*.ts) over a shared window walk
 * (walk.ts); this one checks the options, opens the target and reports.
 *
 * Every mode walks its range window by window and stops between two
 * windows when `interrupted()` says so (SIGINT, SIGTERM), with the target
 * as the mode promises: rw restored, destructive and stamp reported as
 * interrupted with what was checked.
 *
 * @module
 */

import { UsageError } from "../errors.ts";
import { lazyImport } from "../lazy.ts";
import { Target } from "../target/target.ts";
import { refuseTarget } from "../safety/identity.ts";
import { threadsFor } from "../jobs/pool.ts";
import { Jobs } from "./jobs.ts";
import { checkMode } from "./mode_check.ts";
import { destructiveMode } from "./mode_destructive.ts";
import { scanMode } from "./mode_scan.ts";
import { stampMode } from "./mode_stamp.ts";
import type { VerifyMode } from "./modes.ts";
import type { MismatchLog } from "./pattern.ts";
import { type Range, Run } from "./walk.ts";
import { checkBadBlocks, checkRange, reserve } from "../target/checks.ts";

export { MODES, type VerifyMode } from "./modes.ts";
export { outside } from "./mode_scan.ts";

/** What `verify` is asked to do. */
export interface VerifyOptions {
  mode: VerifyMode;
  offset: number;
  length?: number;
  seed?: number;
  passes: number;
  /** Threads (default 1, as map's functions; rw runs on one). */
  jobs?: number;
  journal?: string;
  resume: boolean;
  force: boolean;
  progress?: (done: number, total: number) => void;
  /** Polled between windows: a reason (`interrupted by SIGINT`) stops the run there. */
  interrupted?: () => string | undefined;
}

/** How a run's bytes moved (the report's `io`). */
export type VerifyIo = "mmap" | "pwrite" | "pread" | "o_direct";

/** What a mode found beside the mismatch log. */
export interface ModeFindings {
  seed?: number;
  passes?: number;
  stamp?: { offset: number; length: number; seed: number; time: string };
  /** Why the result is fail when no byte was compared (no stamp, unreadable log…). */
  reason?: string;
}

/** What a run did and found; its report (the spec's document) is json/documents.ts's `verifyReport`. */
export interface VerifyOutcome {
  path: string;
  mode: VerifyMode;
  range: Range;
  /** Bytes compared (or read, for scan). */
  checked: number;
  log: Pick<MismatchLog, "count" | "first" | "ranges">;
  seconds: number;
  io: VerifyIo;
  /** Threads that moved the bytes. */
  jobs: number;
  /** Everything written was made durable by a real flush (true when nothing was). */
  durable: boolean;
  /** Set when a signal stopped the run before its end. */
  interrupted?: string;
  found: ModeFindings;
}

function randomSeed(): number {
  const v = new Uint32Array(2);
  crypto.getRandomValues(v);
  return (v[0] & 0x1fffff) * 2 ** 32 + v[1];
}

/** What a mode is given to run. */
interface ModeContext {
  t: Target;
  o: VerifyOptions;
  range: Range;
  seed: number;
  run: Run;
  /** Gives a file's holes in the range their blocks first (target/checks.ts). */
  reserve: () => Promise<string | undefined>;
}

/** One verify mode: what it asks for, how its bytes move, and how it runs. */
interface ModeSpec {
  /** It changes the target (opened for writing, locked alone). */
  writes: boolean;
  /** It overwrites the range, so it takes `--force`. */
  needsForce: boolean;
  /** It runs on one thread whatever `--jobs` says. */
  oneThread: boolean;
  /** What is checked before it runs: nothing (it reads what it finds), the range, or the range and known bad blocks. */
  checks: "none" | "range" | "bad-blocks";
  /** How its bytes move on this target. */
  io(t: Target): VerifyIo;
  /** Runs it; what it found beside the mismatch log. */
  run(c: ModeContext): Promise<ModeFindings>;
}

/** Fill through a mapping (DAX), O_DIRECT (block devices) or pwrite (the page cache). */
const writeIo = (t: Target): VerifyIo =>
  t.dax ? "mmap" : t.direct ? "o_direct" : "pwrite";

/** The five modes, one row each. */
const MODE_TABLE: Record<VerifyMode, ModeSpec> = {
  scan: {
    writes: false,
    needsForce: false,
    oneThread: false,
    checks: "range",
    io: (t) =>
      t.kind === "devdax" ? "mmap" : t.kind === "block" ? "o_direct" : "pread",
    async run(c) {
      await scanMode(c.t, c.range, c.run);
      return {};
    },
  },
  check: {
    writes: false,
    needsForce: false,
    oneThread: false,
    checks: "none",
    io: (t) => t.dax ? "mmap" : t.direct ? "o_direct" : "pread",
    run: (c) => checkMode(c.t, c.range, c.run),
  },
  destructive: {
    writes: true,
    needsForce: true,
    oneThread: false,
    checks: "bad-blocks",
    io: writeIo,
    async run(c) {
      await destructiveMode(c.t, c.range, c.seed, c.o.passes, c.run, c.reserve);
      return { seed: c.seed, passes: c.o.passes };
    },
  },
  stamp: {
    writes: true,
    needsForce: true,
    oneThread: false,
    checks: "bad-blocks",
    io: writeIo,
    async run(c) {
      const stamp = await stampMode(c.t, c.range, c.seed, c.run, c.reserve);
      return { seed: c.seed, ...(stamp ? { stamp } : {}) };
    },
  },
  rw: {
    writes: true,
    needsForce: false,
    // Its journal keeps one window at a time.
    oneThread: true,
    checks: "bad-blocks",
    io: () => "mmap",
    async run(c) {
      // rw and its journal load only for rw.
      const { rwMode } = await lazyImport<typeof import("./mode_rw.ts")>(
        "src/verify/mode_rw.ts",
      );
      return {
        seed: await rwMode(c.t, c.o, c.range, c.seed, c.run, c.reserve),
      };
    },
  },
};

/** Runs a verification and returns what it did and found. */
export async function verify(
  path: string,
  o: VerifyOptions,
): Promise<VerifyOutcome> {
  const mode = MODE_TABLE[o.mode];
  if (mode.needsForce && !o.force) {
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
  if (mode.oneThread && (o.jobs ?? 1) > 1) {
    throw new UsageError(
      "--jobs",
      `--mode ${o.mode} runs on one thread: its journal keeps one window at a time`,
    );
  }
  using t = Target.open(
    path,
    mode.writes ? "write" : "read",
    `verify ${o.mode}`,
  );
  if (o.journal) refuseTarget(t, o.journal, "--journal");
  const started = performance.now();
  const run = new Run(o);
  const range: Range = {
    offset: o.offset,
    length: o.length ?? Math.max(0, t.size - o.offset),
  };
  run.total = range.length;
  // Threads only where the range has a piece for each (jobs/pool.ts).
  const threads = mode.oneThread ? 1 : threadsFor(t, range.length, o.jobs ?? 1);
  using jobs = threads > 1 ? new Jobs(t, threads) : undefined;
  run.jobs = jobs;
  const outcome = (found: ModeFindings): VerifyOutcome => ({
    path,
    mode: o.mode,
    range,
    checked: run.checked,
    log: run.log,
    seconds: (performance.now() - started) / 1000,
    io: mode.io(t),
    jobs: threads,
    durable: run.durable,
    ...(run.stopped ? { interrupted: run.stopped } : {}),
    found,
  });
  if (mode.checks !== "none") checkRange(t, range.offset, range.length);
  if (mode.checks === "bad-blocks") {
    checkBadBlocks(t, range.offset, range.length);
  }
  return outcome(
    await mode.run({
      t,
      o,
      range,
      seed: o.seed ?? randomSeed(),
      run,
      reserve: () => reserve(t, range.offset, range.length, () => run.poll()),
    }),
  );
}
