/**
 * How many threads `--jobs` asks for: the bound, the default and the
 * option's parser (no thread code here: command modules import it at
 * start-up).
 *
 * @module
 */

import { UsageError } from "../errors.ts";

/** The most threads `--jobs` takes (the spec's bound). */
export const MAX_JOBS = 16;

/** `--jobs` by default: the online CPUs, at most {@link MAX_JOBS}. */
export function defaultJobs(): number {
  return Math.max(1, Math.min(MAX_JOBS, navigator.hardwareConcurrency || 1));
}

/** `--jobs N`: a whole number from 1 to {@link MAX_JOBS}; undefined when not given. */
export function parseJobs(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = /^[0-9]+$/.test(text) ? Number(text) : NaN;
  if (!(n >= 1 && n <= MAX_JOBS)) {
    throw new UsageError(
      `--jobs: '${text}'`,
      `not a number of threads from 1 to ${MAX_JOBS}`,
    );
  }
  return n;
}
