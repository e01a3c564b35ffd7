/**
 * A progress line for long transfers: bytes, rate, ETA. Rendering is a pure
 * function of the state; the reporter draws it on stderr only when that is
 * a terminal, at most ten times a second.
 *
 * @module
 */

import { processOutput } from "./output.ts";

/** What a transfer has done so far. */
export interface ProgressState {
  done: number;
  total: number;
  seconds: number;
}

function bytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (i < units.length - 1 && n >= 1024) {
    n /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${n.toFixed(1)} ${units[i]}`;
}

function clock(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${sec}` : `${m}:${sec}`;
}

/**
 * `[=========>          ]  45% 461.0 MiB / 1.0 GiB  230.5 MiB/s  ETA 0:02`,
 * fitted to `width` columns (the bar shrinks first).
 */
export function renderProgress(state: ProgressState, width = 80): string {
  const fraction = state.total > 0 ? Math.min(1, state.done / state.total) : 1;
  const rate = state.seconds > 0 ? state.done / state.seconds : 0;
  const eta = rate > 0 ? (state.total - state.done) / rate : 0;
  const tail =
    ` ${String(Math.floor(fraction * 100)).padStart(3)}% ${
      bytes(state.done)
    } / ${bytes(state.total)}  ` +
    `${bytes(Math.round(rate))}/s  ETA ${clock(eta)}`;
  const barWidth = Math.max(0, width - tail.length - 2);
  if (barWidth < 5) return tail.trimStart();
  const filled = Math.round(fraction * barWidth);
  const bar = filled >= barWidth
    ? "=".repeat(barWidth)
    : "=".repeat(Math.max(0, filled - 1)) + (filled > 0 ? ">" : "") +
      " ".repeat(barWidth - filled);
  return `[${bar}]${tail}`;
}

/** Where a progress bar is drawn: a writer, and whether it is a terminal. */
export interface ProgressSink {
  write: (text: string) => void;
  isTerminal: () => boolean;
}

/**
 * The process's stderr, written as the CLI writes it (whole, EAGAIN waited
 * out, a failure ignored): a bar that cannot be drawn never stops a run.
 */
export const stderrSink: ProgressSink = {
  write: (text) => processOutput.stderr(text),
  isTerminal: () => processOutput.isTerminal(2),
};

/** Draws progress on a terminal; does nothing when stderr is not one. */
export class ProgressReporter {
  #started = performance.now();
  #last = 0;
  #drawn = false;
  readonly enabled: boolean;

  /** Draws on `sink` (the CLI's Output), only when it is a terminal. */
  constructor(
    readonly total: number,
    private readonly sink: ProgressSink = stderrSink,
  ) {
    this.enabled = sink.isTerminal() && total > 0;
  }

  /** Redraws if a tenth of a second has passed. */
  update(done: number): void {
    if (!this.enabled) return;
    const now = performance.now();
    if (now - this.#last < 100 && done < this.total) return;
    this.#last = now;
    const columns = (() => {
      try {
        return Deno.consoleSize().columns;
      } catch {
        return 80;
      }
    })();
    const line = renderProgress({
      done,
      total: this.total,
      seconds: (now - this.#started) / 1000,
    }, columns - 1);
    this.sink.write(`\r${line}`);
    this.#drawn = true;
  }

  /** Ends the progress line. */
  finish(): void {
    if (this.#drawn) this.sink.write("\n");
    this.#drawn = false;
  }
}
