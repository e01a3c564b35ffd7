/**
 * `verify --jobs N`: fills, compares and scans spread over the main thread
 * and N−1 worker threads. The range is cut into window-sized pieces that
 * every thread takes in turn from one shared counter, so a thread that
 * starts late (a worker's start-up costs about 15 ms) or runs slow just
 * takes fewer. Each worker uses the main thread's open target through its
 * descriptor (same file, lock and `O_EXCL` claim) and guards its mappings in
 * its own slots of the process's SIGBUS table. Each thread meets its pieces
 * in offset order, so the first mismatches of all of them, sorted, are the
 * run's first. A stop (signal, a thread's error) reaches every thread through
 * shared memory before its next window.
 *
 * @module
 */

import { shareFaultSlots } from "../../ffi/mod.ts";
import { PmemctlError, SystemError, UsageError } from "../errors.ts";
import { workerUrl } from "../lazy.ts";
import { type Target, WINDOW } from "../map/target.ts";
import { scanPart } from "./mode_scan.ts";
import { MismatchLog } from "./pattern.ts";
import {
  compareWindow,
  fillWindow,
  type Parallel,
  type Range,
  Run,
  type Task,
} from "./walk.ts";

/** The most threads `--jobs` takes (the spec's bound). */
export const MAX_JOBS = 16;

/** What a worker is told once, when it starts. */
export interface WorkerInit {
  init: true;
  share: ReturnType<Target["share"]>;
  slots: ReturnType<typeof shareFaultSlots>;
  control: SharedArrayBuffer;
  index: number;
}

/** A task's pieces; each thread takes the next through the shared counter. */
export interface WorkerJob {
  init?: false;
  task: Task;
  pieces: Range[];
}

/** One thread's share of the results. */
export interface ThreadResult {
  checked: number;
  durable: boolean;
  stopped: boolean;
  log: Pick<MismatchLog, "count" | "first" | "ranges">;
}

/** What a worker hands back for a task. */
export type WorkerResult =
  | ThreadResult
  | { error: { name: string; what?: string; why?: string; message: string } };

/** `--jobs` by default: the online CPUs, at most {@link MAX_JOBS}. */
export function defaultJobs(): number {
  return Math.max(1, Math.min(MAX_JOBS, navigator.hardwareConcurrency || 1));
}

/** Where pieces of `t` end: a window, or the target's alignment if larger. */
export function pieceUnit(t: Target): number {
  return Math.max(WINDOW, t.align);
}

/**
 * Cuts `range` into pieces whose inner boundaries are multiples of `unit`
 * (absolute offsets), so each piece's windows are those one thread would
 * map; pieces come out in offset order.
 */
export function pieces(range: Range, unit: number): Range[] {
  const end = range.offset + range.length;
  const out: Range[] = [];
  for (let at = range.offset; at < end;) {
    const cut = Math.min(end, (Math.floor(at / unit) + 1) * unit);
    out.push({ offset: at, length: cut - at });
    at = cut;
  }
  return out;
}

/** Control block layout: the stop flag, the next piece, then one progress slot per thread. */
const STOP = 0;
const NEXT = 1;

/**
 * Works through `job`'s pieces with `t`, taking each next one from the
 * shared counter, until none is left or the run stops; one thread's part.
 */
export async function drain(
  t: Target,
  job: WorkerJob,
  next: Int32Array,
  run: Run,
): Promise<ThreadResult> {
  const { task } = job;
  for (;;) {
    if (run.checkStop()) break;
    const i = Atomics.add(next, NEXT, 1);
    if (i >= job.pieces.length) break;
    const piece = job.pieces[i];
    if (task.task === "scan") await scanPart(t, piece, task.bad, run);
    else {
      const window = task.task === "fill" ? fillWindow : compareWindow;
      await run.each(t, piece.offset, piece.length, (w) => {
        window(t, task.pattern, w, run);
        run.tick(w.length);
      });
    }
  }
  const { count, first, ranges } = run.log;
  return {
    checked: run.checked,
    durable: run.durable,
    stopped: run.stopped !== undefined,
    log: { count, first, ranges },
  };
}

/** A thread's own mismatch log: more ranges than a run keeps, since pieces of one range may lie in several threads. */
export function threadLog(): MismatchLog {
  return new MismatchLog(16, 256);
}

/** The error a worker reported, as the class the CLI reports with its exit code. */
function rethrow(
  e: { name: string; what?: string; why?: string; message: string },
): Error {
  if (e.what !== undefined && e.why !== undefined) {
    if (e.name === "UsageError") return new UsageError(e.what, e.why);
    return new SystemError(e.what, e.why);
  }
  return new Error(`verify --jobs: a worker failed: ${e.message}`);
}

/** The main thread and `n`−1 workers over one open target; close it to end the workers. */
export class Jobs implements Parallel, Disposable {
  readonly #workers: Worker[] = [];
  readonly #control: SharedArrayBuffer;
  readonly #flags: Int32Array;
  readonly #progress: Float64Array;
  /** Pieces end on multiples of this: a window, or the target's alignment. */
  readonly #unit: number;

  /** Starts the workers now: they load while the main thread prepares and begins. */
  constructor(private readonly t: Target, readonly n: number) {
    this.#control = new SharedArrayBuffer(8 + 8 * n);
    this.#flags = new Int32Array(this.#control, 0, 2);
    this.#progress = new Float64Array(this.#control, 8, n);
    this.#unit = pieceUnit(t);
    for (let i = 1; i < n; i++) {
      const w = new Worker(workerUrl("src/verify/worker.ts"), {
        type: "module",
      });
      const init: WorkerInit = {
        init: true,
        share: t.share(),
        slots: shareFaultSlots(i - 1),
        control: this.#control,
        index: i,
      };
      w.postMessage(init);
      this.#workers.push(w);
    }
  }

  #ask(w: Worker, job: WorkerJob): Promise<WorkerResult> {
    return new Promise((resolve) => {
      w.onmessage = (e: MessageEvent<WorkerResult>) => resolve(e.data);
      w.onerror = (e: ErrorEvent) => {
        e.preventDefault();
        resolve({ error: { name: "Error", message: e.message } });
      };
      w.postMessage(job);
    });
  }

  /** See {@link Parallel.run}. */
  async run(
    task: Task,
    range: Range,
    run: Run,
    counted: boolean,
  ): Promise<boolean> {
    if (run.checkStop()) return false;
    const job: WorkerJob = { task, pieces: pieces(range, this.#unit) };
    Atomics.store(this.#flags, STOP, 0);
    Atomics.store(this.#flags, NEXT, 0);
    this.#progress.fill(0);
    const stopAll = () => Atomics.store(this.#flags, STOP, 1);
    const pending = this.#workers.map((w) =>
      this.#ask(w, job).then((r) => {
        // A failing thread stops the others at once; all are waited for.
        if ("error" in r) stopAll();
        return r;
      })
    );
    const sum = () => {
      let done = 0;
      for (let i = 1; i < this.n; i++) done += this.#progress[i];
      return done;
    };
    // The main thread's own part: signals reach it between its windows.
    const own = new Run({
      interrupted: () => {
        const why = run.checkStop();
        if (why) stopAll();
        return Atomics.load(this.#flags, STOP) !== 0
          ? why ?? "stopped"
          : undefined;
      },
      progress: counted ? (done) => run.progressWith(done + sum()) : undefined,
    });
    own.log = threadLog();
    const results: WorkerResult[] = [];
    try {
      results.push(await drain(this.t, job, this.#flags, own));
    } catch (e) {
      stopAll();
      await Promise.all(pending);
      throw e;
    }
    // Waiting for the workers' last pieces: a signal still stops them.
    const timer = setInterval(() => {
      if (run.checkStop()) stopAll();
      if (counted) run.progressWith(own.checked + sum());
    }, 50);
    try {
      results.push(...await Promise.all(pending));
    } finally {
      clearInterval(timer);
    }
    const failed = results.find((r) => "error" in r);
    if (failed && "error" in failed) throw rethrow(failed.error);
    const done = results as ThreadResult[];
    // Each thread met its pieces in offset order: sorted, its first are the run's.
    run.log.merge({
      count: done.reduce((s, r) => s + r.log.count, 0),
      first: done.flatMap((r) => r.log.first).sort((a, b) =>
        a.offset - b.offset
      ),
      ranges: done.flatMap((r) => r.log.ranges).sort((a, b) =>
        a.offset - b.offset
      ),
    });
    let stopped = false;
    for (const r of done) {
      run.persisted(r.durable);
      if (counted) run.checked += r.checked;
      stopped ||= r.stopped;
    }
    if (counted) run.progressWith(0);
    if (stopped) run.stopped ??= run.checkStop() ?? "stopped";
    return run.stopped === undefined;
  }

  /** Ends every worker. */
  close(): void {
    for (const w of this.#workers) w.terminate();
    this.#workers.length = 0;
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/** For the worker's error reply: what the CLI needs to report it. */
export function describeError(e: unknown): {
  name: string;
  what?: string;
  why?: string;
  message: string;
} {
  if (e instanceof PmemctlError) {
    return {
      name: e instanceof UsageError ? "UsageError" : "SystemError",
      what: e.what,
      why: e.why,
      message: e.message,
    };
  }
  return { name: "Error", message: String((e as Error)?.stack ?? e) };
}
