/**
 * `verify --jobs N`: fills, compares and scans spread over worker threads.
 * Each worker uses the main thread's open target through its descriptor
 * (same file, lock and `O_EXCL` claim), guards its mappings in its own
 * slots of the process's SIGBUS table, and walks a contiguous share of the
 * range window by window. Results merge in offset order. A stop (signal,
 * a worker's error) reaches every worker through shared memory before its
 * next window.
 *
 * @module
 */

import { shareFaultSlots } from "../../ffi/mod.ts";
import { PmemctlError, SystemError, UsageError } from "../errors.ts";
import { type Target, WINDOW } from "../map/target.ts";
import type { MismatchLog } from "./pattern.ts";
import type { Parallel, Range, Run, Task } from "./walk.ts";

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

/** One share of a task. */
export interface WorkerJob {
  init?: false;
  task: Task;
  range: Range;
}

/** What a worker hands back for a share. */
export type WorkerResult =
  | {
    checked: number;
    durable: boolean;
    stopped: boolean;
    log: Pick<MismatchLog, "count" | "first" | "ranges">;
  }
  | { error: { name: string; what?: string; why?: string; message: string } };

/** `--jobs` by default: the online CPUs, at most {@link MAX_JOBS}. */
export function defaultJobs(): number {
  return Math.max(1, Math.min(MAX_JOBS, navigator.hardwareConcurrency || 1));
}

/**
 * Splits `range` into at most `n` contiguous shares whose inner boundaries
 * are multiples of `unit` (absolute offsets), so each share's windows are
 * those one thread would map; shares come out in offset order.
 */
export function split(range: Range, n: number, unit: number): Range[] {
  const end = range.offset + range.length;
  const out: Range[] = [];
  let at = range.offset;
  for (let i = 1; i <= n && at < end; i++) {
    const ideal = range.offset + Math.round(range.length * i / n);
    const cut = i === n ? end : Math.min(end, Math.ceil(ideal / unit) * unit);
    if (cut <= at) continue;
    out.push({ offset: at, length: cut - at });
    at = cut;
  }
  return out;
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

/** A pool of worker threads over one open target; close it to end them. */
export class Jobs implements Parallel, Disposable {
  readonly #workers: Worker[] = [];
  readonly #control: SharedArrayBuffer;
  readonly #stop: Int32Array;
  readonly #progress: Float64Array;
  /** Shares end on multiples of this: a window, or the target's alignment. */
  readonly #unit: number;

  /** Up to `n` threads for target `t` (started on first use). */
  constructor(private readonly t: Target, readonly n: number) {
    this.#control = new SharedArrayBuffer(8 + 8 * n);
    this.#stop = new Int32Array(this.#control, 0, 1);
    this.#progress = new Float64Array(this.#control, 8, n);
    this.#unit = Math.max(WINDOW, t.align);
  }

  #worker(i: number): Worker {
    if (this.#workers[i]) return this.#workers[i];
    const w = new Worker(new URL("./worker.ts", import.meta.url), {
      type: "module",
    });
    const init: WorkerInit = {
      init: true,
      share: this.t.share(),
      slots: shareFaultSlots(i),
      control: this.#control,
      index: i,
    };
    w.postMessage(init);
    return this.#workers[i] = w;
  }

  #ask(i: number, job: WorkerJob): Promise<WorkerResult> {
    const w = this.#worker(i);
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
    const shares = split(range, this.n, this.#unit);
    Atomics.store(this.#stop, 0, 0);
    this.#progress.fill(0);
    const pending = shares.map((share, i) =>
      this.#ask(i, { task, range: share })
    );
    const stopAll = () => Atomics.store(this.#stop, 0, 1);
    // Signals reach the main thread; each worker sees the flag before its next window.
    const timer = setInterval(() => {
      if (run.checkStop()) stopAll();
      if (counted) {
        let sum = 0;
        for (let i = 0; i < shares.length; i++) sum += this.#progress[i];
        run.progressWith(sum);
      }
    }, 50);
    let results: WorkerResult[];
    try {
      // A failing share stops the others at once; all are waited for.
      results = await Promise.all(pending.map((p) =>
        p.then((r) => {
          if ("error" in r) stopAll();
          return r;
        })
      ));
    } finally {
      clearInterval(timer);
    }
    const failed = results.find((r) => "error" in r);
    if (failed && "error" in failed) throw rethrow(failed.error);
    let stopped = false;
    for (const r of results) {
      if ("error" in r) continue;
      run.log.merge(r.log);
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
