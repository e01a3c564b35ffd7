/**
 * The header `verify --mode stamp` writes at the start of its range, and
 * `--mode check` reads back: magic, version, seed, range, time, checksum,
 * in one 4 KiB block (little-endian).
 *
 * @module
 */

export const STAMP_SIZE = 4096;
const MAGIC = "PMEMCTL\x01";
const VERSION = 1;

/** What a stamp records. */
export interface Stamp {
  seed: number;
  /** The stamped range, header included. */
  offset: number;
  length: number;
  /** When it was written, ms since the epoch. */
  time: number;
}

function fnv1a(bytes: Uint8Array): number {
  let h = 0x811c9dc5;
  for (const b of bytes) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return h;
}

/** Encodes a stamp header. */
export function encodeStamp(s: Stamp): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(STAMP_SIZE);
  const v = new DataView(out.buffer);
  out.set(new TextEncoder().encode(MAGIC), 0);
  v.setUint32(8, VERSION, true);
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

/** Decodes a header read from the start of a stamped range. */
export function decodeStamp(head: Uint8Array): StampRead {
  if (head.length < 52) return { missing: "too short for a stamp header" };
  if (new TextDecoder().decode(head.subarray(0, 8)) !== MAGIC) {
    return { missing: "no pmemctl stamp (magic missing)" };
  }
  const v = new DataView(head.buffer, head.byteOffset, head.byteLength);
  if (v.getUint32(8, true) !== VERSION) {
    return {
      missing: `stamp version ${v.getUint32(8, true)} is not ${VERSION}`,
    };
  }
  if (v.getUint32(48, true) !== fnv1a(head.subarray(0, 48))) {
    return { missing: "the stamp header is damaged (checksum)" };
  }
  return {
    stamp: {
      seed: Number(v.getBigUint64(16, true)),
      offset: Number(v.getBigUint64(24, true)),
      length: Number(v.getBigUint64(32, true)),
      time: Number(v.getBigUint64(40, true)),
    },
  };
}
