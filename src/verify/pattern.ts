/**
 * The verification pattern: every 8-byte word at target offset `8w` is a
 * hash of the seed and `w`, so stuck bits, aliased or misplaced writes and
 * lost writes all show. A byte at offset `x` is byte `x % 8` of its word
 * (little-endian), so any offset and length work. Variants: the complement,
 * and other seeds, for repeated passes.
 *
 * @module
 */

/** Which pattern a pass uses. */
export interface Pattern {
  /** 32-bit halves of the 64-bit seed. */
  seedLo: number;
  seedHi: number;
  /** Store the complement of every word. */
  invert: boolean;
}

/** The pattern for `seed` (an integer below 2^53) and pass number `pass`. */
export function patternFor(seed: number, pass = 0): Pattern {
  const s = seed + Math.floor(pass / 2) * 0x9e3779b9;
  return {
    seedLo: s >>> 0,
    seedHi: Math.floor(s / 2 ** 32) >>> 0,
    invert: pass % 2 === 1,
  };
}

/** murmur3's 32-bit finaliser: every input bit moves every output bit. */
function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** The low and high 32 bits of word `w` (w = offset / 8). */
export function word(p: Pattern, w: number): [number, number] {
  const wLo = w >>> 0;
  const wHi = Math.floor(w / 2 ** 32) >>> 0;
  const lo = fmix(wLo ^ p.seedLo ^ Math.imul(wHi, 0x27d4eb2f));
  const hi = fmix((wLo + 0x9e3779b9) ^ p.seedHi ^ wHi ^ lo);
  return p.invert ? [~lo >>> 0, ~hi >>> 0] : [lo, hi];
}

/*
 * The two hot loops below compute word() inline, allocating nothing: they
 * run once per 8 bytes of every verified range.
 */

/** Stores the pattern's words into `u32` (pairs of lo, hi), starting at word `w0`. */
function fillWords(p: Pattern, u32: Uint32Array, w0: number): void {
  const inv = p.invert ? 0xffffffff : 0;
  const sLo = p.seedLo;
  const sHi = p.seedHi;
  for (let i = 0; i < u32.length;) {
    // Within a run of 2^32 words the high half of the index is constant.
    const w = w0 + i / 2;
    const wHi = (w / 4294967296) >>> 0;
    const hiMix = Math.imul(wHi, 0x27d4eb2f);
    const stop = Math.min(u32.length, i + 2 * (4294967296 - (w % 4294967296)));
    for (let wLo = w >>> 0; i < stop; i += 2, wLo = (wLo + 1) >>> 0) {
      let h = wLo ^ sLo ^ hiMix;
      h ^= h >>> 16;
      h = Math.imul(h, 0x85ebca6b);
      h ^= h >>> 13;
      h = Math.imul(h, 0xc2b2ae35);
      h ^= h >>> 16;
      let g = ((wLo + 0x9e3779b9) ^ sHi ^ wHi ^ h) >>> 0;
      g ^= g >>> 16;
      g = Math.imul(g, 0x85ebca6b);
      g ^= g >>> 13;
      g = Math.imul(g, 0xc2b2ae35);
      g ^= g >>> 16;
      u32[i] = h ^ inv;
      u32[i + 1] = g ^ inv;
    }
  }
}

/** The index (into `u32`) of the first word from `from` that differs from the pattern, or -1. */
function firstBadWord(
  p: Pattern,
  u32: Uint32Array,
  from: number,
  w0: number,
): number {
  const inv = p.invert ? 0xffffffff : 0;
  const sLo = p.seedLo;
  const sHi = p.seedHi;
  for (let i = from; i < u32.length;) {
    const w = w0 + i / 2;
    const wHi = (w / 4294967296) >>> 0;
    const hiMix = Math.imul(wHi, 0x27d4eb2f);
    const stop = Math.min(u32.length, i + 2 * (4294967296 - (w % 4294967296)));
    for (let wLo = w >>> 0; i < stop; i += 2, wLo = (wLo + 1) >>> 0) {
      let h = wLo ^ sLo ^ hiMix;
      h ^= h >>> 16;
      h = Math.imul(h, 0x85ebca6b);
      h ^= h >>> 13;
      h = Math.imul(h, 0xc2b2ae35);
      h ^= h >>> 16;
      let g = ((wLo + 0x9e3779b9) ^ sHi ^ wHi ^ h) >>> 0;
      g ^= g >>> 16;
      g = Math.imul(g, 0x85ebca6b);
      g ^= g >>> 13;
      g = Math.imul(g, 0xc2b2ae35);
      g ^= g >>> 16;
      if (u32[i] !== ((h ^ inv) >>> 0) || u32[i + 1] !== ((g ^ inv) >>> 0)) {
        return i;
      }
    }
  }
  return -1;
}

/** The expected byte at target offset `x`. */
export function expectedByte(p: Pattern, x: number): number {
  const [lo, hi] = word(p, Math.floor(x / 8));
  const b = x % 8;
  return ((b < 4 ? lo >>> (8 * b) : hi >>> (8 * (b - 4))) & 0xff) >>> 0;
}

/** Fills `buf`, which holds the target's bytes from offset `at`, with the pattern. */
export function fillPattern(p: Pattern, buf: Uint8Array, at: number): void {
  const head = Math.min(buf.length, (8 - (at % 8)) % 8);
  for (let i = 0; i < head; i++) buf[i] = expectedByte(p, at + i);
  const words = Math.floor((buf.length - head) / 8);
  if (words > 0 && (buf.byteOffset + head) % 4 === 0) {
    fillWords(
      p,
      new Uint32Array(buf.buffer, buf.byteOffset + head, words * 2),
      (at + head) / 8,
    );
  } else {
    for (let i = head; i < head + words * 8; i++) {
      buf[i] = expectedByte(p, at + i);
    }
  }
  for (let i = head + words * 8; i < buf.length; i++) {
    buf[i] = expectedByte(p, at + i);
  }
}

/** One differing byte. */
export interface Mismatch {
  offset: number;
  expected: number;
  actual: number;
}

/** A run of bad bytes. */
export interface BadRange {
  offset: number;
  length: number;
  reason: string;
}

/** Collects mismatches: every one counted, the first `keep` listed, runs merged into ranges. */
export class MismatchLog {
  count = 0;
  readonly first: Mismatch[] = [];
  readonly ranges: BadRange[] = [];

  constructor(readonly keep = 16, readonly keepRanges = 64) {}

  /** Records a differing byte. */
  add(offset: number, expected: number, actual: number): void {
    this.count++;
    if (this.first.length < this.keep) {
      this.first.push({ offset, expected, actual });
    }
    this.addRange(offset, 1, "mismatch");
  }

  /** Records a bad range (merged with the previous one when they touch). */
  addRange(offset: number, length: number, reason: string): void {
    const last = this.ranges.at(-1);
    if (
      last && last.reason === reason && last.offset + last.length === offset
    ) last.length += length;
    else if (this.ranges.length < this.keepRanges) {
      this.ranges.push({ offset, length, reason });
    }
  }
}

/** Compares `buf` (the target's bytes from offset `at`) with the pattern; logs differences. */
export function checkPattern(
  p: Pattern,
  buf: Uint8Array,
  at: number,
  log: MismatchLog,
): void {
  const slow = (i: number) => {
    const e = expectedByte(p, at + i);
    if (buf[i] !== e) log.add(at + i, e, buf[i]);
  };
  const head = Math.min(buf.length, (8 - (at % 8)) % 8);
  for (let i = 0; i < head; i++) slow(i);
  const words = Math.floor((buf.length - head) / 8);
  if (words > 0 && (buf.byteOffset + head) % 4 === 0) {
    const u32 = new Uint32Array(buf.buffer, buf.byteOffset + head, words * 2);
    for (let i = 0; i < u32.length;) {
      const bad = firstBadWord(p, u32, i, (at + head) / 8);
      if (bad < 0) break;
      for (let b = 0; b < 8; b++) slow(head + bad * 4 + b);
      i = bad + 2;
    }
  } else {
    for (let i = head; i < head + words * 8; i++) slow(i);
  }
  for (let i = head + words * 8; i < buf.length; i++) slow(i);
}
