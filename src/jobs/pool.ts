/**
 * `--jobs N` for verify and map: the main thread and N−1 Deno workers over
 * one open target. The range is cut into pieces of a window (or the
 * target's alignment, if larger) that every thread takes in turn from one
 * shared counter, so a thread that starts late (a worker's start-up costs
 * about 15 ms) or runs slow just takes fewer. Each worker uses the main
 * thread's open target through its descriptor (same file, lock and
 * `O_EXCL` claim) and guards its mappings in its own slots of the
 * process's SIGBUS table. A stop (a signal, a thread's error) reaches every
 * thread through shared memory before it takes its next piece.
 *
 * What a piece is and what a thread hands back belongs to the command
 * (verify/jobs.ts, map/parallel.ts); the worker side is serve.ts.
 *
 * @module
 */

import { fstatx, shareFaultSlots } from "../../ffi/mod.ts";
import { PmemctlError, SystemError, UsageError } from "../errors.ts";
import { workerUrl } from "../lazy.ts";
import type { Target } from "../target/target.ts";
import { type Range, WINDOW } from "../target/windows.ts";

export { defaultJobs, MAX_JOBS } from "./count.ts";

export type { Range } from "../target/windows.ts";

/** Where pieces of `t` end: a window, or the target's alignment if larger. */
export function pieceUnit(t: Target): number {
  return Math.max(WINDOW, t.align);
}

/** Threads worth starting for `length` bytes of `t`: one per piece at most. */
export function threadsFor(t: Target, length: number, jobs: number): number {
  return Math.max(1, Math.min(jobs, Math.ceil(length / pieceUnit(t))));
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

/**
 * Control block layout: the stop flag, the next piece, the lowest piece a
 * thread failed on (or -1), a spare; then one progress slot per thread.
 */
const STOP = 0;
const NEXT = 1;
const FAILED = 2;
const FLAGS = 4;

/** One thread's view of the shared control block. */
export class ThreadControl {
  readonly #flags: Int32Array;
  readonly #progress: Float64Array;

  constructor(control: SharedArrayBuffer, readonly index: number) {
    this.#flags = new Int32Array(control, 0, FLAGS);
    this.#progress = new Float64Array(control, 4 * FLAGS);
  }

  /**
   * The index of the next piece this thread does (of `count`), or
   * undefined once the run stopped or none is left. A piece taken is
   * finished before the thread looks again.
   */
  take(count: number): number | undefined {
    if (this.stopped()) return undefined;
    const i = Atomics.add(this.#flags, NEXT, 1);
    return i < count ? i : undefined;
  }

  /** Pieces handed out so far (of `count`). */
  taken(count: number): number {
    return Math.min(count, Atomics.load(this.#flags, NEXT));
  }

  stopped(): boolean {
    return Atomics.load(this.#flags, STOP) !== 0;
  }

  /** Records that piece `i` failed, and stops every thread. */
  failed(i: number): void {
    for (;;) {
      const was = Atomics.load(this.#flags, FAILED);
      if (was !== -1 && was <= i) break;
      if (Atomics.compareExchange(this.#flags, FAILED, was, i) === was) break;
    }
    this.stop();
  }

  /** The lowest piece a thread failed on, or undefined. */
  firstFailed(): number | undefined {
    const i = Atomics.load(this.#flags, FAILED);
    return i < 0 ? undefined : i;
  }

  /** Stops every thread before its next piece. */
  stop(): void {
    Atomics.store(this.#flags, STOP, 1);
  }

  /** This thread's bytes done so far in the current job. */
  progress(done: number): void {
    this.#progress[this.index] = done;
  }

  /** Every thread's bytes done so far. */
  done(): number {
    let sum = 0;
    for (const d of this.#progress) sum += d;
    return sum;
  }

  reset(): void {
    Atomics.store(this.#flags, STOP, 0);
    Atomics.store(this.#flags, NEXT, 0);
    Atomics.store(this.#flags, FAILED, -1);
    this.#progress.fill(0);
  }
}

/** What a worker is told once, when it starts. */
export interface WorkerInit {
  init: true;
  share: ReturnType<Target["share"]>;
  slots: ReturnType<typeof shareFaultSlots>;
  control: SharedArrayBuffer;
  index: number;
}

/** An error as a worker hands it back: what the CLI needs to report it. */
export interface ErrorShape {
  name: string;
  what?: string;
  why?: string;
  message: string;
}

/** What a worker answers a job with. */
export type Reply<R> = { result: R } | { error: ErrorShape };

/** For a worker's error reply. */
export function describeError(e: unknown): ErrorShape {
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

/** A worker's error as the class the CLI reports with its exit code. */
function rethrow(e: ErrorShape, op: string): Error {
  if (e.what !== undefined && e.why !== undefined) {
    if (e.name === "UsageError") return new UsageError(e.what, e.why);
    return new SystemError(e.what, e.why);
  }
  return new Error(`${op} --jobs: a worker failed: ${e.message}`);
}

/** What a pool's job ended with. */
export interface Joined<R> {
  /** The main thread's result first, then each worker's. */
  results: R[];
  /** Pieces handed out; each was finished unless a thread failed. */
  taken: number;
}

/** The main thread and `n`−1 workers running `worker` over one open target; close it to end them. */
export class Pool implements Disposable {
  readonly #workers: Worker[] = [];
  /** The main thread's control (index 0). */
  readonly control: ThreadControl;

  /**
   * Starts the workers now (`worker`: the module's path from the project's
   * root, see lazy.ts): they load while the main thread prepares and begins.
   */
  constructor(
    private readonly t: Target,
    readonly n: number,
    worker: string,
    private readonly op: string,
  ) {
    const shared = new SharedArrayBuffer(4 * FLAGS + 8 * n);
    this.control = new ThreadControl(shared, 0);
    for (let i = 1; i < n; i++) {
      const w = new Worker(workerUrl(worker), { type: "module" });
      const init: WorkerInit = {
        init: true,
        share: t.share(),
        slots: shareFaultSlots(i - 1),
        control: shared,
        index: i,
      };
      w.postMessage(init);
      this.#workers.push(w);
    }
  }

  #ask<R>(w: Worker, job: unknown): Promise<Reply<R>> {
    return new Promise((resolve) => {
      w.onmessage = (e: MessageEvent<Reply<R>>) => resolve(e.data);
      w.onerror = (e: ErrorEvent) => {
        e.preventDefault();
        resolve({ error: { name: "Error", message: e.message } });
      };
      w.postMessage(job);
    });
  }

  /**
   * Runs `job` (`count` pieces) on every thread: the workers get it as a
   * message, the main thread runs `own`. While the main thread waits for
   * the workers' last pieces, `watch` is called every 50 ms (a reason
   * stops them all). A thread's error stops the others, and is thrown once
   * all have finished the pieces they took.
   */
  async run<R>(
    job: unknown,
    count: number,
    own: (c: ThreadControl) => Promise<R>,
    watch: () => string | undefined | Promise<string | undefined>,
  ): Promise<Joined<R>> {
    const c = this.control;
    c.reset();
    const pending = this.#workers.map((w) =>
      this.#ask<R>(w, job).then((r) => {
        if ("error" in r) c.stop();
        return r;
      })
    );
    const results: R[] = [];
    try {
      results.push(await own(c));
    } catch (e) {
      c.stop();
      await Promise.all(pending);
      throw this.#withSize(e);
    }
    const timer = setInterval(async () => {
      if (await watch()) c.stop();
    }, 50);
    let replies: Reply<R>[];
    try {
      replies = await Promise.all(pending);
    } finally {
      clearInterval(timer);
    }
    for (const r of replies) {
      if ("error" in r) throw this.#withSize(rethrow(r.error, this.op));
      results.push(r.result);
    }
    return { results, taken: c.taken(count) };
  }

  /**
   * A file target cut short under the run: the error says what the file
   * holds once every thread has stopped (a write in flight when it was cut
   * may have lengthened it again).
   */
  #withSize(e: unknown): unknown {
    const t = this.t;
    if (!(e instanceof SystemError) || t.kind !== "file" || !t.writable) {
      return e;
    }
    let now: number;
    try {
      now = fstatx(t.file.fd, t.path).size;
    } catch {
      return e;
    }
    if (now === t.size || e.why.includes(`shrank to ${now} bytes`)) return e;
    const held = /it holds \d+ bytes now/;
    return new SystemError(
      e.what,
      held.test(e.why)
        ? e.why.replace(held, `it holds ${now} bytes now`)
        : `${e.why}; it holds ${now} bytes now`,
    );
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
