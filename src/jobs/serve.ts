/**
 * The worker side of a `Pool` (pool.ts): borrows the main thread's
 * open target, adopts its slots of the SIGBUS table, then answers each job
 * it is sent with what `work` returns (or the error it threw).
 *
 * @module
 */

/// <reference lib="deno.worker" />

import { adoptFaultSlots } from "../../ffi/mod.ts";
import { Target } from "../target/target.ts";
import {
  describeError,
  type Reply,
  ThreadControl,
  type WorkerInit,
} from "./pool.ts";

/** Makes this worker serve jobs of type `J` with `work`. */
export function serve<J, R>(
  work: (t: Target, job: J, c: ThreadControl) => Promise<R>,
): void {
  let target: Target | undefined;
  let control: ThreadControl | undefined;
  self.onmessage = async (e: MessageEvent<WorkerInit | J>) => {
    const m = e.data as WorkerInit | J;
    if ((m as WorkerInit).init === true) {
      const init = m as WorkerInit;
      adoptFaultSlots(init.slots);
      target = Target.borrow(init.share);
      control = new ThreadControl(init.control, init.index);
      return;
    }
    let reply: Reply<R>;
    try {
      reply = { result: await work(target!, m as J, control!) };
    } catch (err) {
      reply = { error: describeError(err) };
    } finally {
      // Its own descriptor and buffer: the pool may end this worker at once.
      target?.closeDirect();
    }
    self.postMessage(reply);
  };
}
