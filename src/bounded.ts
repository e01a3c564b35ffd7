/**
 * Bounded input: every file pmemctl reads as text is read with a size cap,
 * so `/dev/zero`, a FIFO or a runaway file given as a kernel log, a command
 * line or a sysfs attribute is refused (exit 2) instead of filling memory.
 *
 * @module
 */

import { SystemError, UsageError } from "./errors.ts";

const MiB = 2 ** 20;

/** The caps, by kind of text (the README names them). */
export const CAPS = {
  /** A kernel log (`--dmesg`, a captured `dmesg.txt`, the live ring buffer). */
  log: 64 * MiB,
  /** A table under /proc (iomem, mountinfo, locks). */
  table: 16 * MiB,
  /** Anything else: sysfs attributes, the command line. */
  text: 1 * MiB,
} as const;

function human(bytes: number): string {
  return bytes >= MiB ? `${bytes / MiB} MiB` : `${bytes} bytes`;
}

/** Input over its cap: exit 2. */
export class TooLargeError extends UsageError {}

/**
 * The buffer reads go into, kept between reads: `list` reads hundreds of
 * thousands of sysfs attributes, and a fresh 64 KiB buffer for each left
 * gigabytes of garbage for V8 to collect (peak memory grew with the tree).
 * A buffer grown past {@link KEEP} for a large file is not kept.
 */
let scratch: Uint8Array | undefined;
const decoder = new TextDecoder();
const KEEP = MiB;

/**
 * Reads at most `cap` bytes from `read` into the scratch buffer (grown by
 * doubling, or sized from `hint`); throws when there are more. The bytes
 * returned stay valid until the next read: decode or copy them first.
 */
function drainBytes(
  read: (buf: Uint8Array) => number | null,
  name: string,
  cap: number,
  hint = 0,
): Uint8Array {
  const want = Math.min(cap + 1, Math.max(hint + 1, 65536));
  let buf = scratch && scratch.length >= want ? scratch : new Uint8Array(want);
  let total = 0;
  for (;;) {
    if (total === buf.length) {
      const bigger = new Uint8Array(Math.min(cap + 1, buf.length * 2));
      bigger.set(buf);
      buf = bigger;
    }
    const n = read(buf.subarray(total));
    if (n === null || n === 0) break;
    total += n;
    if (total > cap) {
      throw new TooLargeError(
        name,
        `holds more than the ${
          human(cap)
        } pmemctl reads from such a file (a device, a pipe that never ends, or the wrong file?)`,
      );
    }
  }
  if (buf.length <= KEEP) scratch = buf;
  return buf.subarray(0, total);
}

function drain(
  read: (buf: Uint8Array) => number | null,
  name: string,
  cap: number,
  hint = 0,
): string {
  return decoder.decode(drainBytes(read, name, cap, hint));
}

/**
 * The text of `path`, at most `cap` bytes (any kind of file: a regular one,
 * a pipe, a device). Throws Deno's errors for files that cannot be opened,
 * and {@link TooLargeError} past the cap.
 */
export function readCapped(path: string, cap: number): string {
  return decoder.decode(capped(path, cap));
}

/** The bytes of `path`, at most `cap` (as {@link readCapped}, undecoded). */
export function readCappedBytes(path: string, cap: number): Uint8Array {
  return capped(path, cap).slice();
}

/** {@link drainBytes} of the file at `path`: valid until the next read. */
function capped(path: string, cap: number): Uint8Array {
  using f = Deno.openSync(path, { read: true });
  const st = f.statSync();
  // A regular file's size sizes the buffer (sysfs and /proc say 4096 or 0).
  const hint = st.isFile ? Math.min(st.size, cap) : 0;
  return drainBytes((buf) => f.readSync(buf), path, cap, hint);
}

/** Standard input's text, at most `cap` bytes. */
export function readStdinCapped(cap: number, name = "stdin"): string {
  return drain((buf) => Deno.stdin.readSync(buf), name, cap);
}

/**
 * A file the user named (`--dmesg FILE`, `--cmdline FILE`), capped: a
 * missing or unsuitable file is exit 2, a refused one (permission) exit 3.
 */
export function readUserFile(path: string, flag: string, cap: number): string {
  try {
    return readCapped(path, cap);
  } catch (e) {
    if (e instanceof TooLargeError) {
      throw new TooLargeError(`${flag} ${path}`, e.why);
    }
    if (e instanceof Deno.errors.PermissionDenied) {
      throw new SystemError(`${flag} ${path}`, "permission denied");
    }
    const why = e instanceof Deno.errors.NotFound
      ? "no such file"
      : e instanceof Deno.errors.IsADirectory
      ? "is a directory"
      : (e as Error).message;
    throw new UsageError(`${flag} ${path}`, why);
  }
}
