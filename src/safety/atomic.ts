/**
 * Replacing a file so that a reader sees the old content or the new, never
 * half of either: write a temporary file in the same directory, fsync it,
 * rename it over the target, fsync the directory. A failure leaves the
 * target as it was and removes the temporary file.
 *
 * @module
 */

import { SystemError } from "../errors.ts";

/** Writes `data` to `path` atomically, with `mode` for a new file (an existing file keeps its mode). */
export function writeFileAtomic(
  path: string,
  data: string | Uint8Array,
  mode = 0o644,
): void {
  const slash = path.lastIndexOf("/");
  const dir = slash < 0 ? "." : slash === 0 ? "/" : path.slice(0, slash);
  const base = path.slice(slash + 1);
  const tmp = `${dir}/.${base}.${Deno.pid}.${
    crypto.getRandomValues(new Uint32Array(1))[0].toString(16)
  }.tmp`;
  const bytes = typeof data === "string"
    ? new TextEncoder().encode(data)
    : data;
  let keepMode = mode;
  try {
    keepMode = Deno.statSync(path).mode! & 0o7777;
  } catch { /* a new file */ }
  try {
    using f = Deno.openSync(tmp, {
      write: true,
      createNew: true,
      mode: keepMode,
    });
    for (let done = 0; done < bytes.length;) {
      done += f.writeSync(bytes.subarray(done));
    }
    f.syncSync();
  } catch (e) {
    try {
      Deno.removeSync(tmp);
    } catch { /* never created */ }
    throw new SystemError(path, `cannot write it: ${(e as Error).message}`);
  }
  try {
    Deno.renameSync(tmp, path);
  } catch (e) {
    try {
      Deno.removeSync(tmp);
    } catch { /* gone */ }
    throw new SystemError(path, `cannot replace it: ${(e as Error).message}`);
  }
  try {
    using d = Deno.openSync(dir, { read: true });
    d.syncSync();
  } catch { /* a directory that refuses fsync still holds the rename */ }
}
