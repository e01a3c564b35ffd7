/**
 * The verification pattern: every 8-byte word at target offset `8w` is
 * tagged with the seed and `w`, so stuck bits, aliased or misplaced writes
 * and lost writes all show. A byte at offset `x` is byte `x % 8` of its word
 * (little-endian), so any offset and length work. Variants: the complement,
 * and other seeds, for repeated passes.
 *
 * Version 2 (the default) costs one hash per 64-byte line: the line's index
 * and the seed mixed (murmur3's finaliser, twice) into `a` and `b`; word `j`
 * of the line is `a + j·φ` (low half) and `b ^ w` (high half: its own
 * offset, verbatim). Version 1 hashed every word (`fmix` twice per 8 bytes)
 * and is kept for stamps written with it.
 *
 * Whole lines of version 2 in a thread's I/O buffer ({@link patternBuffer},
 * WebAssembly memory) are filled and checked by pattern.wat's SIMD code,
 * 16 bytes a store; everywhere else (mappings, edges), and on CPUs where V8
 * runs no WebAssembly SIMD (QEMU's default x86-64 model and kvm64 guests
 * lack SSE4.1), by the loops here, about half as fast (bench/pattern_bench.ts;
 * a scalar WebAssembly build measured slower than these loops). Both give the
 * same bytes (pattern_test.ts).
 *
 * @module
 */

import { PATTERN_WASM_BASE64 } from "./pattern_wasm.ts";

/** Which pattern a pass uses. */
export interface Pattern {
  /** 32-bit halves of the 64-bit seed. */
  seedLo: number;
  seedHi: number;
  /** Store the complement of every word. */
  invert: boolean;
  /** 2: one hash per 64-byte line (default); 1: one per word (old stamps). */
  version: 1 | 2;
}

/** The pattern for `seed` (an integer below 2^53), pass number `pass` and pattern `version`. */
export function patternFor(
  seed: number,
  pass = 0,
  version: 1 | 2 = 2,
): Pattern {
  const s = seed + Math.floor(pass / 2) * 0x9e3779b9;
  return {
    seedLo: s >>> 0,
    seedHi: Math.floor(s / 2 ** 32) >>> 0,
    invert: pass % 2 === 1,
    version,
  };
}

/** j·φ (mod 2^32) for word j of a 64-byte line: the low halves' steps. */
const STEP = [
  0x00000000,
  0x9e3779b9,
  0x3c6ef372,
  0xdaa66d2b,
  0x78dde6e4,
  0x1715609d,
  0xb54cda56,
  0x5384540f,
];

/** Where {@link lineHashes} leaves its two results: no allocation in the hot loops. */
const LINE = new Uint32Array(2);

/** Version 2's two hashes of line `line` (= w / 8) for the seed halves, into {@link LINE}. */
function lineHashes(sLo: number, sHi: number, line: number): void {
  const lLo = line >>> 0;
  const lHi = (line / 4294967296) >>> 0;
  const a = fmix(lLo ^ sLo ^ Math.imul(lHi, 0x27d4eb2f));
  LINE[0] = a;
  LINE[1] = fmix((lLo + 0x9e3779b9) ^ sHi ^ lHi ^ a);
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
  if (p.version === 2) {
    lineHashes(p.seedLo, p.seedHi, Math.floor(w / 8));
    const [a, b] = LINE;
    const lo = (a + STEP[w % 8]) >>> 0;
    const hi = (b ^ w) >>> 0;
    return p.invert ? [~lo >>> 0, ~hi >>> 0] : [lo, hi];
  }
  const wLo = w >>> 0;
  const wHi = Math.floor(w / 2 ** 32) >>> 0;
  const lo = fmix(wLo ^ p.seedLo ^ Math.imul(wHi, 0x27d4eb2f));
  const hi = fmix((wLo + 0x9e3779b9) ^ p.seedHi ^ wHi ^ lo);
  return p.invert ? [~lo >>> 0, ~hi >>> 0] : [lo, hi];
}

/**
 * A pattern.wat function over `lines` whole lines at byte `at` of its
 * memory, from line (`lo`, `hi`: its index's 32-bit halves), for the
 * seed's halves and the complement mask.
 */
type Lines<R> = (
  at: number,
  lines: number,
  lo: number,
  hi: number,
  sLo: number,
  sHi: number,
  inv: number,
) => R;

/** pattern.wat's exports: its memory, and whole lines filled and checked there. */
interface Kernel {
  buffer: ArrayBuffer;
  fill: Lines<void>;
  check: Lines<number>;
}

/** The arguments of a {@link Lines} call for `lines` lines of `u32` from index `i` (word `w0 + i/2`). */
function linesArgs(
  p: Pattern,
  u32: Uint32Array,
  i: number,
  w0: number,
  lines: number,
): Parameters<Lines<void>> {
  const line = (w0 + i / 2) / 8;
  return [
    u32.byteOffset + i * 4,
    lines,
    line >>> 0,
    (line / 4294967296) >>> 0,
    p.seedLo,
    p.seedHi,
    p.invert ? 0xffffffff : 0,
  ];
}

/** Who fills and checks whole lines in the I/O buffer: pattern.wat's `simd` code, or the `js` loops. */
export type PatternCode = "simd" | "js";

/** The I/O buffer's size: 1 MiB and 8 bytes fit in pattern.wat's 17 pages. */
const IO_BYTES = 17 * 65536;

/** What runs here: SIMD where V8 validates pattern.wat (SSE4.1 on x86-64), else the loops. */
export function cpuCode(): PatternCode {
  return WebAssembly.validate(wasmBytes()) ? "simd" : "js";
}

let decoded: Uint8Array<ArrayBuffer> | undefined;

/** pattern.wat's bytes, decoded once (cpuCode validates them, useCode compiles them). */
function wasmBytes(): Uint8Array<ArrayBuffer> {
  return decoded ??= Uint8Array.from(
    atob(PATTERN_WASM_BASE64),
    (c) => c.charCodeAt(0),
  );
}

/** This thread's instance of pattern.wat (each worker has its own), under SIMD. */
let kernel: Kernel | undefined;
/** This thread's I/O buffer: pattern.wat's memory, or plain memory for the loops. */
let io: { code: PatternCode; buffer: ArrayBuffer } | undefined;

/**
 * This thread's I/O buffer filled and checked by `code` from now on: at
 * start, {@link cpuCode}'s choice; tests and benchmarks name one (buffers
 * handed out before then go through the loops).
 */
export function useCode(code: PatternCode): void {
  kernel = undefined;
  if (code === "js") {
    io = { code, buffer: new ArrayBuffer(IO_BYTES) };
    return;
  }
  const { exports } = new WebAssembly.Instance(
    new WebAssembly.Module(wasmBytes()),
  );
  const e = exports as unknown as Omit<Kernel, "buffer"> & {
    mem: WebAssembly.Memory;
  };
  const buffer = e.mem.buffer as ArrayBuffer; // a memory that is not shared
  kernel = { buffer, fill: e.fill, check: e.check };
  io = { code, buffer };
}

/** Who fills and checks this thread's I/O buffer. */
export function activeCode(): PatternCode {
  if (!io) useCode(cpuCode());
  return io!.code;
}

/**
 * This thread's I/O buffer for fills and compares through pread/pwrite:
 * `length` bytes (at most 1 MiB and 8) of pattern.wat's memory, where whole
 * lines of version 2 are made and checked by its SIMD code.
 */
export function patternBuffer(length: number): Uint8Array {
  activeCode();
  return new Uint8Array(io!.buffer, 0, length);
}

/** The kernel, when `u32` lies in its memory. */
function kernelFor(u32: Uint32Array): Kernel | undefined {
  return kernel && u32.buffer === kernel.buffer ? kernel : undefined;
}

/*
 * The two hot loops below compute word() inline, allocating nothing: they
 * run once per 8 bytes of every verified range.
 */

/** Stores the pattern's words into `u32` (pairs of lo, hi), starting at word `w0`. */
function fillWords(p: Pattern, u32: Uint32Array, w0: number): void {
  if (p.version === 1) return fillWordsV1(p, u32, w0);
  // Words up to a line boundary one by one, whole lines inline, then the rest.
  let i = 0;
  for (; i < u32.length && (w0 + i / 2) % 8 !== 0; i += 2) {
    [u32[i], u32[i + 1]] = word(p, w0 + i / 2);
  }
  const inv = p.invert ? 0xffffffff : 0;
  const sLo = p.seedLo;
  const sHi = p.seedHi;
  const lines = Math.floor((u32.length - i) / 16);
  const k = kernelFor(u32);
  if (k && lines > 0) {
    k.fill(...linesArgs(p, u32, i, w0, lines));
    i += lines * 16;
  }
  const end = i + Math.floor((u32.length - i) / 16) * 16;
  for (let w = w0 + i / 2; i < end; i += 16, w += 8) {
    lineHashes(sLo, sHi, w / 8);
    const a = LINE[0] | 0;
    const b = LINE[1] | 0;
    const wl = w >>> 0;
    const hb = b ^ inv;
    u32[i] = a ^ inv;
    u32[i + 1] = hb ^ wl;
    u32[i + 2] = (a + 0x9e3779b9) ^ inv;
    u32[i + 3] = hb ^ (wl + 1);
    u32[i + 4] = (a + 0x3c6ef372) ^ inv;
    u32[i + 5] = hb ^ (wl + 2);
    u32[i + 6] = (a + 0xdaa66d2b) ^ inv;
    u32[i + 7] = hb ^ (wl + 3);
    u32[i + 8] = (a + 0x78dde6e4) ^ inv;
    u32[i + 9] = hb ^ (wl + 4);
    u32[i + 10] = (a + 0x1715609d) ^ inv;
    u32[i + 11] = hb ^ (wl + 5);
    u32[i + 12] = (a + 0xb54cda56) ^ inv;
    u32[i + 13] = hb ^ (wl + 6);
    u32[i + 14] = (a + 0x5384540f) ^ inv;
    u32[i + 15] = hb ^ (wl + 7);
  }
  for (; i < u32.length; i += 2) [u32[i], u32[i + 1]] = word(p, w0 + i / 2);
}

function fillWordsV1(p: Pattern, u32: Uint32Array, w0: number): void {
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
  if (p.version === 1) return firstBadWordV1(p, u32, from, w0);
  let i = from;
  const one = (k: number) => {
    const [lo, hi] = word(p, w0 + k / 2);
    return u32[k] !== lo || u32[k + 1] !== hi;
  };
  for (; i < u32.length && (w0 + i / 2) % 8 !== 0; i += 2) if (one(i)) return i;
  const inv = p.invert ? 0xffffffff : 0;
  const sLo = p.seedLo;
  const sHi = p.seedHi;
  const lines = Math.floor((u32.length - i) / 16);
  const k = kernelFor(u32);
  if (k && lines > 0) {
    const bad = k.check(...linesArgs(p, u32, i, w0, lines));
    if (bad >= 0) {
      for (let j = i + bad * 16; j < i + bad * 16 + 16; j += 2) {
        if (one(j)) return j;
      }
    }
    i += lines * 16;
  }
  const end = i + Math.floor((u32.length - i) / 16) * 16;
  for (let w = w0 + i / 2; i < end; i += 16, w += 8) {
    lineHashes(sLo, sHi, w / 8);
    const a = LINE[0] | 0;
    const b = LINE[1] | 0;
    const wl = w >>> 0;
    const hb = b ^ inv;
    if (
      u32[i] !== ((a ^ inv) >>> 0) ||
      u32[i + 1] !== ((hb ^ wl) >>> 0) ||
      u32[i + 2] !== (((a + 0x9e3779b9) ^ inv) >>> 0) ||
      u32[i + 3] !== ((hb ^ (wl + 1)) >>> 0) ||
      u32[i + 4] !== (((a + 0x3c6ef372) ^ inv) >>> 0) ||
      u32[i + 5] !== ((hb ^ (wl + 2)) >>> 0) ||
      u32[i + 6] !== (((a + 0xdaa66d2b) ^ inv) >>> 0) ||
      u32[i + 7] !== ((hb ^ (wl + 3)) >>> 0) ||
      u32[i + 8] !== (((a + 0x78dde6e4) ^ inv) >>> 0) ||
      u32[i + 9] !== ((hb ^ (wl + 4)) >>> 0) ||
      u32[i + 10] !== (((a + 0x1715609d) ^ inv) >>> 0) ||
      u32[i + 11] !== ((hb ^ (wl + 5)) >>> 0) ||
      u32[i + 12] !== (((a + 0xb54cda56) ^ inv) >>> 0) ||
      u32[i + 13] !== ((hb ^ (wl + 6)) >>> 0) ||
      u32[i + 14] !== (((a + 0x5384540f) ^ inv) >>> 0) ||
      u32[i + 15] !== ((hb ^ (wl + 7)) >>> 0)
    ) {
      for (let k = i; k < i + 16; k += 2) if (one(k)) return k;
    }
  }
  for (; i < u32.length; i += 2) if (one(i)) return i;
  return -1;
}

function firstBadWordV1(
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

/** A run of bad bytes a verify found (the report's `bad_ranges`); a device's known ones are sysfs/nd.ts's BadRange. */
export interface BadRun {
  offset: number;
  length: number;
  reason: string;
}

/** Collects mismatches: every one counted, the first `keep` listed, runs merged into ranges. */
export class MismatchLog {
  count = 0;
  readonly first: Mismatch[] = [];
  readonly ranges: BadRun[] = [];

  constructor(readonly keep = 16, readonly keepRanges = 64) {}

  /** Records a differing byte. */
  add(offset: number, expected: number, actual: number): void {
    this.count++;
    if (this.first.length < this.keep) {
      this.first.push({ offset, expected, actual });
    }
    this.addRange(offset, 1, "mismatch");
  }

  /** Adds what another log (of a later part of the range) recorded. */
  merge(other: Pick<MismatchLog, "count" | "first" | "ranges">): void {
    this.count += other.count;
    for (const m of other.first) {
      if (this.first.length < this.keep) this.first.push(m);
    }
    for (const r of other.ranges) this.addRange(r.offset, r.length, r.reason);
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
