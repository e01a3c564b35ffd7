/**
 * `write(2)` for the CLI's own streams, through a libc handle of its own
 * with two symbols: ffi/libc.ts binds some forty and would cost every
 * command that prints to a pipe a few milliseconds of start-up (measured:
 * 5 ms, against 1 ms for this one).
 *
 * Why not `Deno.stdout.writeSync`: Deno writes stdout through Rust's
 * line-buffered `std::io::stdout()` and flushes after each call. When the
 * descriptor is non-blocking (O_NONBLOCK lives on the open file a pipe's
 * other users share), the write can put the lines out, keep the rest of the
 * chunk in that buffer, fail the flush with EAGAIN and report the call as a
 * failure: the caller cannot know what went out, and repeating the chunk
 * writes it twice (seen: the man page doubled). A raw `write(2)` either
 * writes a count or fails having written nothing, so it can be repeated.
 *
 * @module
 */

import { Errno, errnoName, settleErrno } from "./errno.ts";
import { SystemError } from "./errors.ts";
import { sleepSync } from "./sleep.ts";

const symbols = {
  write: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  __errno_location: { parameters: [], result: "pointer" },
} as const satisfies Deno.ForeignLibraryInterface;

type Raw = Deno.DynamicLibrary<typeof symbols>["symbols"];

let raw: { call: Raw; errno: Deno.UnsafePointerView } | null | undefined;

/** The two symbols, or null where FFI is not allowed (no `-A`). */
function load(): typeof raw {
  if (raw !== undefined) return raw;
  try {
    const call = Deno.dlopen("libc.so.6", symbols).symbols;
    const at = call.__errno_location();
    raw = at === null ? null : { call, errno: new Deno.UnsafePointerView(at) };
  } catch {
    raw = null;
  }
  return raw;
}

/** Whether {@link writeStream} can be used (libc through FFI is allowed). */
export function canWriteStream(): boolean {
  return load() !== null;
}

/**
 * Writes all of `bytes` to descriptor `fd` with `write(2)`: a partial write
 * goes on from its count, EINTR is repeated, and EAGAIN (someone made the
 * descriptor non-blocking) is waited out a millisecond at a time, as if it
 * blocked. A closed pipe (EPIPE) throws `Deno.errors.BrokenPipe`, as Deno's
 * own writes do; any other failure a SystemError naming `name`. A failed
 * write wrote nothing, so the errno is settled by repeating it (Deno's
 * runtime can overwrite errno between the call and its reading).
 */
export function writeStream(fd: number, bytes: Uint8Array, name: string): void {
  const lib = load();
  if (!lib) throw new SystemError(name, "libc cannot be loaded through FFI");
  for (let done = 0; done < bytes.length;) {
    const rest = bytes.subarray(done);
    const attempt = () => {
      const n = Number(lib.call.write(fd, rest, BigInt(rest.length)));
      return n >= 0 ? n : undefined;
    };
    const result = settleErrno(attempt, () => lib.errno.getInt32());
    if ("value" in result) {
      done += result.value;
      continue;
    }
    if (result.errno === Errno.EINTR) continue;
    if (result.errno === Errno.EAGAIN) {
      sleepSync(1);
      continue;
    }
    if (result.errno === Errno.EPIPE) {
      throw new Deno.errors.BrokenPipe(`${name}: write: EPIPE`);
    }
    throw new SystemError(name, `write: ${errnoName(result.errno)}`);
  }
}
