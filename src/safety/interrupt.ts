/**
 * SIGINT and SIGTERM for long-running commands: instead of dying in the
 * middle of a window, the command asks between windows whether a signal
 * came, finishes what the window promised, and stops (exit 3).
 *
 * @module
 */

import { fstatx } from "../../ffi/mod.ts";

const SIGNALS = ["SIGINT", "SIGTERM"] as const;

/** How often, at most, a busy loop lets the signal listeners run. */
const POLL_MS = 50;

/** Catches SIGINT/SIGTERM while it lives; dispose it to restore the defaults. */
export class Interrupts implements Disposable {
  /** `interrupted by SIGINT`, once a signal came. */
  reason: string | undefined;
  #last = performance.now();
  #listeners = SIGNALS.map((sig) =>
    [sig, () => this.reason ??= `interrupted by ${sig}`] as const
  );

  constructor() {
    for (const [sig, fn] of this.#listeners) Deno.addSignalListener(sig, fn);
  }

  /**
   * Lets signal listeners run (at most every 50 ms, so a copy loop pays
   * nothing measurable) and returns the reason once a signal came.
   */
  async poll(): Promise<string | undefined> {
    if (performance.now() - this.#last >= POLL_MS) {
      await new Promise((r) => setTimeout(r, 0));
      this.#last = performance.now();
    }
    return this.reason;
  }

  [Symbol.dispose](): void {
    for (const [sig, fn] of this.#listeners) {
      Deno.removeSignalListener(sig, fn);
    }
  }
}

/** What a transfer asks between windows: a reason to stop, or undefined. */
export type Poll = () => Promise<string | undefined>;

/**
 * Interrupts for a transfer through `fd`, or undefined when `fd` can block
 * without end (a pipe, a terminal, a socket): pmemctl's system calls block
 * the thread that would run the listeners, so there the signal keeps its
 * default action and ends the process at once.
 */
export function interruptsFor(
  fd: number,
  name: string,
): Interrupts | undefined {
  const st = fstatx(fd, name);
  return st.isFile || st.isBlockDevice ? new Interrupts() : undefined;
}
