/**
 * The other end of a transfer: a descriptor to read from or write to, and
 * a regular-file input that can be mapped and copied instead of read.
 *
 * @module
 */

import {
  constants as C,
  fstatx,
  lseek,
  Mapping,
  OsError,
  pageSize,
} from "../../ffi/mod.ts";
import { SystemError } from "../errors.ts";
import type { Target } from "../target/target.ts";

/** A descriptor to read from or write to, with the name errors use. */
export interface Stream {
  fd: number;
  path: string;
}

/**
 * Whether bytes can go to (or come from) `s` at any offset with
 * pwrite/pread: a regular file not opened for appending (where Linux
 * ignores pwrite's offset). Pipes, terminals and `>>` keep their order.
 */
export function positional(s: Stream): boolean {
  if (!fstatx(s.fd, s.path).isFile) return false;
  try {
    const info = Deno.readTextFileSync(`/proc/self/fdinfo/${s.fd}`);
    const flags = parseInt(/^flags:\s*([0-7]+)/m.exec(info)?.[1] ?? "", 8);
    return Number.isFinite(flags) && (flags & C.O_APPEND) === 0;
  } catch {
    return false;
  }
}

/** Where a mapped input stands: its descriptor's position and its size. */
export interface MappedInput {
  at: number;
  size: number;
}

/**
 * A regular-file input whose bytes can be mapped instead of read: its
 * position and size. Undefined for pipes, terminals and devices.
 */
export function mappableInput(input: Stream): MappedInput | undefined {
  const st = fstatx(input.fd, input.path);
  if (!st.isFile || st.size === 0) return undefined;
  return { at: lseek(input.fd, 0, C.SEEK_CUR, input.path), size: st.size };
}

/**
 * Copies `length` bytes of the input from its offset `at` into the target at
 * `start`, through the window mapping `m`. Undefined when the input cannot
 * be mapped (the caller reads it instead); otherwise whether it is durable.
 */
export function copyFromInput(
  target: Target,
  m: Mapping,
  start: number,
  input: Stream,
  at: number,
  length: number,
): boolean | undefined {
  // A file truncated while mapped would fault (SIGBUS) past its new end:
  // check it still holds the bytes before touching them.
  const size = fstatx(input.fd, input.path).size;
  if (size < at + length) {
    throw new SystemError(
      input.path,
      `shrank to ${size} bytes while being copied (${at} bytes were read)`,
    );
  }
  const base = at - (at % pageSize());
  let view: Mapping;
  try {
    view = Mapping.map(input.fd, input.path, {
      offset: base,
      length: at - base + length,
      populate: true,
    });
  } catch (e) {
    if (e instanceof OsError) return undefined;
    throw e;
  }
  using _ = view;
  return target.copyIn(m, start, view.pointer(at - base), length);
}
