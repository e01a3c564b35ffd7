/**
 * `verify --mode stamp`: writes the pattern over the range and, last, the
 * header page that `check` reads after a power cycle.
 *
 * @module
 */

import { SystemError, UsageError } from "../errors.ts";
import type { Target } from "../target/target.ts";
import { windows } from "../target/windows.ts";
import { fillPattern, patternFor } from "./pattern.ts";
import { encodeStamp, STAMP_PATTERN_AT, STAMP_SIZE } from "./stamp.ts";
import { fill, type Range, type Run } from "./walk.ts";

/** Stamps the range; undefined when interrupted before the header was written. */
export async function stampMode(
  t: Target,
  range: Range,
  seed: number,
  run: Run,
  reserve: () => Promise<string | undefined>,
): Promise<
  { offset: number; length: number; seed: number; time: string } | undefined
> {
  if (range.length < STAMP_SIZE) {
    throw new UsageError(
      "--length",
      `a stamp needs at least ${STAMP_SIZE} bytes`,
    );
  }
  if (!t.canPersist()) {
    throw new SystemError(
      `verify --mode stamp ${t.path}`,
      "cannot make writes durable here (device-DAX without libpmem: apt-get install libpmem1), and a stamp that may sit in CPU caches proves nothing across power loss; nothing was written",
    );
  }
  if (await reserve()) return undefined;
  const { offset, length } = range;
  run.total = length - STAMP_PATTERN_AT;
  const p = patternFor(seed);
  const body = { offset: offset + STAMP_SIZE, length: length - STAMP_SIZE };
  if (!await fill(t, p, body, run, true)) return undefined;
  // The header goes last: a stamp cut short by a crash has none.
  const time = Date.now();
  const header = encodeStamp({ seed, offset, length, time });
  fillPattern(p, header.subarray(STAMP_PATTERN_AT), offset + STAMP_PATTERN_AT);
  const [w] = windows(offset, STAMP_SIZE, t.align);
  using m = t.map(w);
  m.bytes(w.start - w.mapStart, STAMP_SIZE).set(header);
  run.persisted(t.persist(m, offset, STAMP_SIZE));
  t.flush();
  run.tick(STAMP_SIZE - STAMP_PATTERN_AT);
  return { offset, length, seed, time: new Date(time).toISOString() };
}
