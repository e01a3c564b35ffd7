/**
 * A target's bytes in aligned windows: what is mapped at a time, so memory
 * stays flat whatever the target's size.
 *
 * @module
 */

/** Bytes mapped at a time: memory stays flat whatever the target's size. */
export const WINDOW = 16 * 2 ** 20;

export function alignDown(n: number, a: number): number {
  return n - (n % a);
}

export function alignUp(n: number, a: number): number {
  return alignDown(n + a - 1, a);
}

/** A byte range of a target. */
export interface Range {
  offset: number;
  length: number;
}

/** A byte range of a target and the aligned mapping that holds it. */
export interface Window {
  /** Where the mapping starts in the target, and its length (both aligned). */
  mapStart: number;
  mapLength: number;
  /** The range's bytes inside it: target offset and length. */
  start: number;
  length: number;
}

/** Splits `[offset, offset+length)` into aligned windows of at most `window` bytes. */
export function windows(
  offset: number,
  length: number,
  align: number,
  window = WINDOW,
): Window[] {
  const out: Window[] = [];
  const size = alignUp(Math.max(window, align), align);
  const end = offset + length;
  for (let cur = offset; cur < end;) {
    const mapStart = alignDown(cur, align);
    const mapEnd = Math.min(mapStart + size, alignUp(end, align));
    const stop = Math.min(end, mapEnd);
    out.push({
      mapStart,
      mapLength: mapEnd - mapStart,
      start: cur,
      length: stop - cur,
    });
    cur = stop;
  }
  return out;
}
