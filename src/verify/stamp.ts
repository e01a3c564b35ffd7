/**
 * The header `verify --mode stamp` writes at the start of its range, and
 * `--mode check` reads back, in one 4 KiB page (little-endian):
 *
 * | bytes    | what                                             |
 * | -------- | ------------------------------------------------ |
 * | 0–7      | magic `PMEMCTL\x01`                              |
 * | 8–11     | version: 3 (pattern v2); 2 (pattern v1) still read |
 * | 12–15    | header size (4096)                               |
 * | 16–47    | seed, range offset, range length, time (ms), u64 |
 * | 48–51    | FNV-1a checksum of bytes 0–47                    |
 * | 52–63    | zero                                             |
 * | 64–4095  | the range's pattern, like every byte after it    |
 *
 * So every byte of the stamped range is checked: the fields by their
 * checksum and by sense (a range that fits the target, a time that has
 * happened), the rest as zero or pattern.
 *
 * @module
 */

export const STAMP_SIZE = 4096;
/** Where the pattern starts inside the header page. */
export const STAMP_PATTERN_AT = 64;
const MAGIC = "PMEMCTL\x01";
const VERSION = 3;
/** Header version → the pattern version its range holds. */
const PATTERN_OF: Record<number, 1 | 2> = { 2: 1, 3: 2 };
/** A stamp dated more than a day ahead of the clock is impossible. */
const CLOCK_SLACK_MS = 24 * 3600 * 1000;

/** What a stamp records. */
export interface Stamp {
  seed: number;
  /** The stamped range, header included. */
  offset: number;
  length: number;
  /** When it was written, ms since the epoch. */
  time: number;
  /** The pattern its range holds (1 for stamps of pmemctl before 2026-11-26). */
  patternVersion?: 1 | 2;
}

function fnv1a(bytes: Uint8Array): number {
  let h = 0x811c9dc5;
  for (const b of bytes) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return h;
}

/** Encodes a stamp's fields into a header page (bytes 64 on are left for the pattern). */
export function encodeStamp(s: Stamp): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(STAMP_SIZE);
  const v = new DataView(out.buffer);
  out.set(new TextEncoder().encode(MAGIC), 0);
  v.setUint32(8, s.patternVersion === 1 ? 2 : VERSION, true);
  v.setUint32(12, STAMP_SIZE, true);
  v.setBigUint64(16, BigInt(s.seed), true);
  v.setBigUint64(24, BigInt(s.offset), true);
  v.setBigUint64(32, BigInt(s.length), true);
  v.setBigUint64(40, BigInt(s.time), true);
  v.setUint32(48, fnv1a(out.subarray(0, 48)), true);
  return out;
}

/** The result of reading a header: the stamp, or why there is none. */
export type StampRead = { stamp: Stamp } | { missing: string };

/**
 * Decodes a header page read at `at` of a target of `targetSize` bytes,
 * at time `now`. A stamp whose fields are damaged or impossible is missing.
 */
export function decodeStamp(
  head: Uint8Array,
  at: number,
  targetSize: number,
  now = Date.now(),
): StampRead {
  if (head.length < STAMP_PATTERN_AT) {
    return { missing: "too short for a stamp header" };
  }
  if (new TextDecoder().decode(head.subarray(0, 8)) !== MAGIC) {
    return { missing: "no pmemctl stamp (magic missing)" };
  }
  const v = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const version = v.getUint32(8, true);
  const patternVersion = PATTERN_OF[version];
  if (patternVersion === undefined) {
    return {
      missing:
        `stamp version ${version} is not one this pmemctl reads (2 or ${VERSION}): stamp the range again`,
    };
  }
  if (v.getUint32(48, true) !== fnv1a(head.subarray(0, 48))) {
    return { missing: "the stamp header is damaged (checksum)" };
  }
  if (v.getUint32(12, true) !== STAMP_SIZE) {
    return { missing: "the stamp header is damaged (header size)" };
  }
  if (head.subarray(52, STAMP_PATTERN_AT).some((b) => b !== 0)) {
    return { missing: "the stamp header is damaged (bytes 52-63)" };
  }
  const big = (o: number) => v.getBigUint64(o, true);
  const fits = (n: bigint) => n <= BigInt(Number.MAX_SAFE_INTEGER);
  const fields = [big(16), big(24), big(32), big(40)];
  if (!fields.every(fits)) {
    return { missing: "the stamp header holds a number past 2^53" };
  }
  const [seed, offset, length, time] = fields.map(Number);
  if (offset !== at) {
    return {
      missing: `the stamp at offset ${at} records offset ${offset}`,
    };
  }
  if (length < STAMP_SIZE || offset + length > targetSize) {
    return {
      missing:
        `the stamp at offset ${at} records a length of ${length} bytes, which does not fit (at least ${STAMP_SIZE}, at most ${
          targetSize - offset
        })`,
    };
  }
  if (time <= 0 || time > now + CLOCK_SLACK_MS) {
    return {
      missing: `the stamp records an impossible time (${time} ms)`,
    };
  }
  return { stamp: { seed, offset, length, time, patternVersion } };
}
