/**
 * A `verify --jobs` worker thread (started by jobs.ts): borrows the main
 * thread's open target, adopts its slots of the SIGBUS table, then fills,
 * compares or scans the shares it is sent, one at a time, and answers each
 * with its bytes, durability and mismatch log. It stops before its next
 * window once the shared stop flag is set.
 *
 * @module
 */

/// <reference lib="deno.worker" />

import { adoptFaultSlots } from "../../ffi/mod.ts";
import { Target } from "../map/target.ts";
import {
  describeError,
  type WorkerInit,
  type WorkerJob,
  type WorkerResult,
} from "./jobs.ts";
import { scanPart } from "./mode_scan.ts";
import { compareWindow, fillWindow, Run } from "./walk.ts";

let target: Target | undefined;
let stop: Int32Array;
let progress: Float64Array;
let index = 0;

async function work(job: WorkerJob): Promise<WorkerResult> {
  const t = target!;
  const run = new Run({
    interrupted: () => Atomics.load(stop, 0) !== 0 ? "stopped" : undefined,
    progress: (done) => {
      progress[index] = done;
    },
  });
  const { task, range } = job;
  let done = true;
  if (task.task === "scan") {
    await scanPart(t, range, task.bad, run);
    done = run.stopped === undefined;
  } else {
    const window = task.task === "fill" ? fillWindow : compareWindow;
    done = await run.each(t, range.offset, range.length, (w) => {
      window(t, task.pattern, w, run);
      run.tick(w.length);
    });
  }
  return {
    checked: run.checked,
    durable: run.durable,
    stopped: !done,
    log: { count: run.log.count, first: run.log.first, ranges: run.log.ranges },
  };
}

self.onmessage = async (e: MessageEvent<WorkerInit | WorkerJob>) => {
  const m = e.data;
  if (m.init) {
    adoptFaultSlots(m.slots);
    target = Target.borrow(m.share);
    stop = new Int32Array(m.control, 0, 1);
    progress = new Float64Array(m.control, 8);
    index = m.index;
    return;
  }
  let result: WorkerResult;
  try {
    result = await work(m);
  } catch (err) {
    result = { error: describeError(err) };
  }
  self.postMessage(result);
};
