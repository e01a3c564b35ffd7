/**
 * `verify --mode destructive`: fills the range with the pattern, drops the
 * page cache and compares, for each pass (the pattern, its complement,
 * other seeds).
 *
 * @module
 */

import type { Target } from "../target/target.ts";
import { patternFor } from "./pattern.ts";
import { compare, fill, type Range, type Run } from "./walk.ts";

/** Runs `passes` fill-and-compare passes over the range. */
export async function destructiveMode(
  t: Target,
  range: Range,
  seed: number,
  passes: number,
  run: Run,
  reserve: () => Promise<string | undefined>,
): Promise<void> {
  if (await reserve()) return;
  run.total = range.length * passes;
  for (let pass = 0; pass < passes && !run.stopped; pass++) {
    const p = patternFor(seed, pass);
    if (await fill(t, p, range, run, false)) await compare(t, p, range, run);
  }
}
