/**
 * A `verify --jobs` worker thread (started by jobs.ts): borrows the main
 * thread's open target, adopts its slots of the SIGBUS table, then takes
 * pieces of each task it is sent from the shared counter until none is
 * left, and answers with its bytes, durability and mismatch log. It stops
 * before its next window once the shared stop flag is set.
 *
 * @module
 */

/// <reference lib="deno.worker" />

import { adoptFaultSlots } from "../../ffi/mod.ts";
import { Target } from "../map/target.ts";
import {
  describeError,
  drain,
  threadLog,
  type WorkerInit,
  type WorkerJob,
  type WorkerResult,
} from "./jobs.ts";
import { Run } from "./walk.ts";

let target: Target | undefined;
let flags: Int32Array;
let progress: Float64Array;
let index = 0;

self.onmessage = async (e: MessageEvent<WorkerInit | WorkerJob>) => {
  const m = e.data;
  if (m.init) {
    adoptFaultSlots(m.slots);
    target = Target.borrow(m.share);
    flags = new Int32Array(m.control, 0, 2);
    progress = new Float64Array(m.control, 8);
    index = m.index;
    return;
  }
  let result: WorkerResult;
  try {
    const run = new Run({
      interrupted: () => Atomics.load(flags, 0) !== 0 ? "stopped" : undefined,
      progress: (done) => {
        progress[index] = done;
      },
    });
    run.log = threadLog();
    result = await drain(target!, m, flags, run);
  } catch (err) {
    result = { error: describeError(err) };
  }
  self.postMessage(result);
};
