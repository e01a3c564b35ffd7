/**
 * `verify --mode scan`: reads the range without writing, reporting known
 * bad blocks and every unreadable sector.
 *
 * @module
 */

import {
  blkSszGet,
  constants as C,
  FileHandle,
  Mapping,
  OsError,
  pageSize,
} from "../../ffi/mod.ts";
import { preadTarget } from "../target/io.ts";
import type { Target } from "../target/target.ts";
import type { BadRange } from "../sysfs/nd.ts";
import type { MismatchLog } from "./pattern.ts";
import type { Range, Run } from "./walk.ts";
import { knownBadRanges } from "../target/checks.ts";

/** Scans the range: known bad blocks first, then every byte. */
export async function scanMode(
  t: Target,
  range: Range,
  run: Run,
): Promise<void> {
  const bad = knownBadBlocks(t, range.offset, range.length, run.log);
  if (run.jobs) await run.jobs.run({ task: "scan", bad }, range, run, true);
  else await scanPart(t, range, bad, run);
}

/**
 * Reads every byte of a range, except known bad blocks on device-DAX,
 * with pread (O_DIRECT on block devices: poison is an EIO, pinpointed per
 * sector) or through the mapping (device-DAX has no read(2)). One per
 * thread: it keeps its descriptor and buffer from piece to piece.
 */
export class Scanner implements Disposable {
  /** The target's own descriptor, opened again with the scan's flags. */
  readonly #file?: FileHandle;
  readonly #buffer?: Mapping;
  readonly #bytes?: Uint8Array;
  /** What one pread asks for: O_DIRECT's logical block, or a page. */
  readonly #unit: number = pageSize();

  constructor(readonly t: Target) {
    if (t.kind === "devdax") return;
    const direct = t.kind === "block";
    // The same file whatever has happened to the path since.
    this.#file = new FileHandle(
      `/proc/self/fd/${t.file.fd}`,
      C.O_RDONLY | (direct ? C.O_DIRECT : 0),
    );
    try {
      this.#buffer = Mapping.anonymous(CHUNK);
      // One view for the whole scan: making a view of native memory costs
      // about 30 µs, a third of a 1 GiB scan when made per chunk.
      this.#bytes = this.#buffer.bytes();
      if (direct) this.#unit = blkSszGet(this.#file.fd, t.path);
    } catch (e) {
      this.#file.close();
      this.#buffer?.close();
      throw e;
    }
  }

  /** Scans `range`, skipping `bad` on device-DAX. */
  async part(range: Range, bad: BadRange[], run: Run): Promise<void> {
    const { t } = this;
    const { offset, length } = range;
    if (!this.#file || !this.#bytes) {
      // Device-DAX has no read(2): touch every cache line through the
      // mapping, except known bad blocks, whose poison would kill the
      // process (SIGBUS).
      await run.each(t, offset, length, (w) => {
        using m = t.map(w);
        let x = 0;
        for (const [from, to] of outside(w.start, w.start + w.length, bad)) {
          const view = m.bytes(from - w.mapStart, to - from);
          for (let i = 0; i < view.length; i += 64) x ^= view[i];
        }
        // Using the XOR (never 256) keeps the reads from being optimised away.
        if (x === 256) throw new Error("unreachable");
        run.tick(w.length);
      });
      return;
    }
    const fd = this.#file.fd, bytes = this.#bytes, unit = this.#unit;
    const start = offset - (offset % unit);
    const end = Math.min(t.size, Math.ceil((offset + length) / unit) * unit);
    const read = (buf: Uint8Array, at: number) => preadTarget(t, fd, buf, at);
    // The windows only pace the walk (and its interruption); pread reads.
    await run.each(t, start, end - start, (w) => {
      for (let at = w.start; at < w.start + w.length; at += CHUNK) {
        const n = Math.min(CHUNK, w.start + w.length - at);
        try {
          read(bytes.subarray(0, n), at);
        } catch (e) {
          if (!(e instanceof OsError && e.code === "EIO")) throw e;
          // Pinpoint: sector by sector (page by page without O_DIRECT).
          for (let s = at; s < at + n; s += unit) {
            try {
              read(bytes.subarray(0, unit), s);
            } catch (e2) {
              if (!(e2 instanceof OsError && e2.code === "EIO")) throw e2;
              run.log.addRange(s, unit, "EIO");
            }
          }
        }
        run.tick(Math.min(at + n, offset + length) - Math.max(at, offset));
      }
    });
  }

  [Symbol.dispose](): void {
    this.#file?.close();
    this.#buffer?.close();
  }
}

/** What one pread reads. */
const CHUNK = 1 << 20;

/** Scans `range` of `t` with a scanner of its own. */
export async function scanPart(
  t: Target,
  range: Range,
  bad: BadRange[],
  run: Run,
): Promise<void> {
  using scanner = new Scanner(t);
  await scanner.part(range, bad, run);
}

/**
 * Logs the target's known bad blocks inside the range (the block device's
 * list, or device-DAX's from its region) and returns them.
 */
function knownBadBlocks(
  t: Target,
  offset: number,
  length: number,
  log: MismatchLog,
): BadRange[] {
  const inside = knownBadRanges(t).ranges.filter((b) =>
    b.start < offset + length && b.end > offset
  );
  for (const b of inside) log.addRange(b.start, b.end - b.start, "badblocks");
  return inside;
}

/** The parts of `[start, end)` outside every range of `holes`. */
export function outside(
  start: number,
  end: number,
  holes: { start: number; end: number }[],
): [number, number][] {
  const out: [number, number][] = [];
  let at = start;
  for (const h of [...holes].sort((a, b) => a.start - b.start)) {
    if (h.end <= at || h.start >= end) continue;
    if (h.start > at) out.push([at, h.start]);
    at = Math.max(at, h.end);
  }
  if (at < end) out.push([at, end]);
  return out;
}
