/**
 * `verify --jobs N`: fills, compares and scans spread over the threads of a
 * pool (src/jobs/pool.ts). Each thread meets its pieces in offset order, so
 * the first mismatches of all of them, sorted, are the run's first.
 *
 * @module
 */

import { pieces, pieceUnit, Pool, type ThreadControl } from "../jobs/pool.ts";
import type { Target } from "../target/target.ts";
import { Scanner } from "./mode_scan.ts";
import { MismatchLog } from "./pattern.ts";
import {
  compareWindow,
  fillWindow,
  type Parallel,
  type Range,
  Run,
  type Task,
} from "./walk.ts";

/** A task's pieces; each thread takes the next through the shared counter. */
export interface WorkerJob {
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

/**
 * Works through `job`'s pieces with `t`, taking each next one from the
 * shared counter, until none is left or the run stops; one thread's part.
 */
export async function drain(
  t: Target,
  job: WorkerJob,
  c: ThreadControl,
  run: Run,
): Promise<ThreadResult> {
  const { task } = job;
  // One scanner for all the thread's pieces: its descriptor and buffer.
  using scanner = task.task === "scan" ? new Scanner(t) : undefined;
  for (;;) {
    if (run.checkStop()) break;
    const i = c.take(job.pieces.length);
    if (i === undefined) break;
    const piece = job.pieces[i];
    if (task.task === "scan") await scanner!.part(piece, task.bad, run);
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

/** A worker's part of a job: its run reports progress through its slot and stops with the others. */
export function workerDrain(
  t: Target,
  job: WorkerJob,
  c: ThreadControl,
): Promise<ThreadResult> {
  const run = new Run({
    interrupted: () => c.stopped() ? "stopped" : undefined,
    progress: (done) => c.progress(done),
  });
  run.log = threadLog();
  return drain(t, job, c, run);
}

/** The main thread and `n`−1 workers over one open target; close it to end the workers. */
export class Jobs implements Parallel, Disposable {
  readonly #pool: Pool;
  /** Pieces end on multiples of this: a window, or the target's alignment. */
  readonly #unit: number;

  /** Starts the workers now: they load while the main thread prepares and begins. */
  constructor(private readonly t: Target, readonly n: number) {
    this.#pool = new Pool(t, n, "src/verify/worker.ts", "verify");
    this.#unit = pieceUnit(t);
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
    const c = this.#pool.control;
    // The main thread's own part: signals reach it between its windows.
    const own = new Run({
      interrupted: () => {
        const why = run.checkStop();
        if (why) c.stop();
        return c.stopped() ? why ?? "stopped" : undefined;
      },
      progress: (done) => {
        c.progress(done);
        if (counted) run.progressWith(c.done());
      },
    });
    own.log = threadLog();
    const { results: done } = await this.#pool.run<ThreadResult>(
      job,
      job.pieces.length,
      (c) => drain(this.t, job, c, own),
      () => {
        if (counted) run.progressWith(c.done());
        return run.checkStop();
      },
    );
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
    this.#pool.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
