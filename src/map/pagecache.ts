/**
 * Moving bytes to and from page-cache targets (regular files, tmpfs) and
 * block devices (`/dev/pmemN`, through O_DIRECT: direct.ts):
 * pread(2)/pwrite(2) through one reused buffer, the path the
 * kernel makes fastest there (a copy through the kernel's own mapping of
 * the page, where read(2) into a user mapping of the target pays a page
 * walk per 4 KiB page), and one that cannot fault: a target that shrinks
 * or fills is an error code, never a SIGBUS. DAX targets keep the mapping
 * (transfer.ts), which is their point.
 *
 * @module
 */

import { fdatasync, Mapping, readInto, writeFrom } from "../../ffi/mod.ts";
import type { Poll } from "../safety/interrupt.ts";
import { madeDurable, preadAll, pwriteAll } from "../target/io.ts";
import type { Target } from "../target/target.ts";
import { WINDOW } from "../target/windows.ts";
import { checkStillHolds } from "../target/checks.ts";

/** Bytes per system call. */
const CHUNK = 1 << 20;

/** What a page-cache transfer reports. */
export interface Moved {
  bytes: number;
  /** The input ended before the range did (writes from a stream). */
  ended: boolean;
  /** Why it stopped early, when a signal came. */
  stopped?: string;
}

/** Copies `[offset, offset+length)` of the target to `out` with pread and write. */
export async function readPageCache(
  t: Target,
  offset: number,
  length: number,
  out: { fd: number; path: string },
  progress?: (done: number) => void,
  poll?: Poll,
): Promise<Moved> {
  using buf = Mapping.anonymous(CHUNK);
  const bytes = buf.bytes();
  let done = 0;
  let polled = -WINDOW;
  while (done < length) {
    // Between windows' worth of bytes, let a signal stop the copy.
    if (done - polled >= WINDOW) {
      polled = done;
      const stopped = await poll?.();
      if (stopped) return { bytes: done, ended: false, stopped };
    }
    const n = Math.min(CHUNK, length - done);
    preadAll(t, bytes.subarray(0, n), offset + done);
    for (let at = 0; at < n;) {
      at += writeFrom(out.fd, buf.pointer(at), n - at, out.path);
    }
    done += n;
    progress?.(done);
  }
  return { bytes: done, ended: false };
}

/**
 * Fills `[offset, offset+limit)` of the target from `input` (or with zeros
 * when `input` is undefined) with read and pwrite, each 16 MiB window made
 * durable (fdatasync) before the next; stops early when the input ends.
 * `beforeWindow` runs before a window's first byte (reserving its blocks).
 */
export async function writePageCache(
  t: Target,
  offset: number,
  limit: number,
  input: { fd: number; path: string } | undefined,
  progress?: (done: number) => void,
  poll?: Poll,
  beforeWindow?: (start: number, length: number) => Promise<unknown>,
): Promise<Moved> {
  using buf = Mapping.anonymous(CHUNK);
  const bytes = buf.bytes();
  let done = 0;
  let ended = false;
  while (done < limit && !ended) {
    const stopped = await poll?.();
    if (stopped) return { bytes: done, ended, stopped };
    const window = Math.min(WINDOW - ((offset + done) % WINDOW), limit - done);
    let filled = 0;
    try {
      await beforeWindow?.(offset + done, window);
      checkStillHolds(t, offset + done + window);
      while (filled < window) {
        const want = Math.min(CHUNK, window - filled);
        let n = want;
        if (input) {
          n = 0;
          while (n < want) {
            const got = readInto(
              input.fd,
              buf.pointer(n),
              want - n,
              input.path,
            );
            if (got === 0) break;
            n += got;
          }
        }
        if (n === 0) {
          ended = true;
          break;
        }
        pwriteAll(t, bytes.subarray(0, n), offset + done + filled);
        filled += n;
        progress?.(done + filled);
        if (n < want) {
          ended = true;
          break;
        }
      }
      if (filled > 0) fdatasync(t.file.fd, t.path);
    } catch (e) {
      throw madeDurable(e, done, offset);
    }
    done += filled;
  }
  return { bytes: done, ended };
}
