/**
 * SIGINT, SIGTERM and SIGHUP (and SIGXCPU, SIGXFSZ) for long-running commands: instead of dying in
 * the middle of a window, the command asks between windows whether a signal
 * came, finishes what the window promised, and stops (exit 3). A hangup (the
 * terminal or ssh session closed) would otherwise kill `verify --mode rw`
 * with a window's original bytes only in its memory.
 *
 * @module
 */

import { fstatx } from "../../ffi/mod.ts";

/** How often, at most, a busy loop lets the signal listeners run. */
const POLL_MS = 50;

/** SIGHUP's number: bit 0 of /proc's signal masks. */
const SIGHUP = 1;

/**
 * The signals a `/proc/PID/status` text says are ignored (`SigIgn`, a hex
 * mask whose bit N−1 is signal N), by number.
 */
export function ignoredSignals(status: string): Set<number> {
  const hex = status.match(/^SigIgn:\s*([0-9a-fA-F]+)$/m)?.[1];
  const out = new Set<number>();
  if (!hex) return out;
  const mask = BigInt(`0x${hex}`);
  for (let n = 1; n <= 64; n++) {
    if ((mask >> BigInt(n - 1)) & 1n) out.add(n);
  }
  return out;
}

let startedIgnoringHangup: boolean | undefined;

/**
 * Whether the process was started ignoring SIGHUP (`nohup`, `trap '' HUP`:
 * the caller asked for the run to outlive the terminal). Read once, before
 * any listener changes what /proc says.
 */
function hangupIgnored(): boolean {
  if (startedIgnoringHangup === undefined) {
    try {
      startedIgnoringHangup = ignoredSignals(
        Deno.readTextFileSync("/proc/self/status"),
      ).has(SIGHUP);
    } catch {
      startedIgnoringHangup = false; // no /proc: a hangup asks to stop
    }
  }
  return startedIgnoringHangup;
}

let hangupKept = false;

/**
 * A SIGHUP the process was started ignoring stays ignored for the rest of
 * its life. Deno, once any signal listener is added, catches SIGHUP too
 * and dies of it whenever no listener takes it, ignored or not (seen:
 * /proc's SigIgn loses SIGHUP and SigCgt gains it; a `nohup` run died of
 * the hangup, mid-window or after its run while printing the result): so
 * such a process gets a listener that ignores it, and keeps it.
 */
function keepHangupIgnored(): void {
  if (hangupKept || !hangupIgnored()) return;
  Deno.addSignalListener("SIGHUP", () => {});
  hangupKept = true;
}

let fileSizeLimitCaught = false;

/**
 * Past `ulimit -f` a write kills the process with SIGXFSZ (no message, a
 * file half written). Caught for the rest of the process's life, the write
 * fails with EFBIG instead and is reported as a full filesystem is. (A
 * listener removed when a run ends let the signal of a write still in
 * flight kill the process now and then.)
 */
function catchFileSizeLimit(): void {
  if (fileSizeLimitCaught) return;
  fileSizeLimitCaught = true;
  Deno.addSignalListener("SIGXFSZ", () => {});
}

/**
 * Catches SIGINT/SIGTERM/SIGHUP, and the resource limits' SIGXCPU (stop
 * like SIGTERM) while it lives (dispose it to restore the defaults), and
 * SIGXFSZ from then on (see {@link catchFileSizeLimit}).
 */
export class Interrupts implements Disposable {
  /** `interrupted by SIGINT`, once a signal came. */
  reason: string | undefined;
  #last = performance.now();
  /**
   * SIGINT and SIGTERM stop the run (a shell starts background jobs
   * ignoring SIGINT, yet `kill -INT` should still stop them cleanly). So
   * does SIGHUP, unless the process was started ignoring it (see
   * {@link keepHangupIgnored}).
   */
  #listeners =
    (hangupIgnored()
      ? ["SIGINT", "SIGTERM", "SIGXCPU"] as const
      : ["SIGINT", "SIGTERM", "SIGHUP", "SIGXCPU"] as const).map((sig) =>
        [sig, () => this.reason ??= `interrupted by ${sig}`] as const
      );

  constructor() {
    keepHangupIgnored();
    catchFileSizeLimit();
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
