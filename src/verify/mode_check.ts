/**
 * `verify --mode check`: finds the stamp at the range's start and verifies
 * every byte of the stamped range without writing.
 *
 * @module
 */

import type { Target } from "../target/target.ts";
import { windows } from "../target/windows.ts";
import { checkPattern, patternFor } from "./pattern.ts";
import { decodeStamp, STAMP_PATTERN_AT, STAMP_SIZE } from "./stamp.ts";
import { compare, type Range, type Run } from "./walk.ts";

/** What check found: the stamp, or why there is none. */
export type CheckResult =
  | { reason: string }
  | {
    seed: number;
    stamp: { offset: number; length: number; seed: number; time: string };
  };

/** Checks the stamp at `range.offset`; sets `range.length` to the stamped length. */
export async function checkMode(
  t: Target,
  range: Range,
  run: Run,
): Promise<CheckResult> {
  const at = range.offset;
  const head = new Uint8Array(Math.min(STAMP_SIZE, Math.max(0, t.size - at)));
  if (head.length > 0) {
    const [w] = windows(at, head.length, t.align);
    using m = t.map(w);
    head.set(m.bytes(w.start - w.mapStart, head.length));
  }
  const read = decodeStamp(head, at, t.size);
  if ("missing" in read) return { reason: `${read.missing} at offset ${at}` };
  const s = read.stamp;
  range.length = s.length;
  const p = patternFor(s.seed, 0, s.patternVersion ?? 2);
  // The header page: its fields are checked by decodeStamp, the rest is pattern.
  run.total = s.length - STAMP_PATTERN_AT;
  checkPattern(
    p,
    head.subarray(STAMP_PATTERN_AT),
    at + STAMP_PATTERN_AT,
    run.log,
  );
  run.tick(STAMP_SIZE - STAMP_PATTERN_AT);
  await compare(t, p, {
    offset: at + STAMP_SIZE,
    length: s.length - STAMP_SIZE,
  }, run);
  return {
    seed: s.seed,
    stamp: { ...s, time: new Date(s.time).toISOString() },
  };
}
