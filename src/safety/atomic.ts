/**
 * Replacing a file so that a reader sees the old content or the new, never
 * half of either: write a temporary file in the same directory, fsync it,
 * rename it over the target, fsync the directory. A failure leaves the
 * target as it was and removes the temporary file; a target that is a
 * symbolic link, a directory or a device is refused (exit 2), never replaced.
 *
 * @module
 */

import { SystemError, UsageError } from "../errors.ts";

/** Usage error unless `path` is a regular file or absent: an output never replaces a device, a directory or a link's target type. */
export function refuseNonRegular(path: string, role: string): void {
  let st: Deno.FileInfo;
  try {
    st = Deno.lstatSync(path);
  } catch {
    return;
  }
  if (!st.isFile) {
    throw new UsageError(
      `${role} ${path}`,
      `is not a regular file (${
        st.isDirectory
          ? "a directory"
          : st.isSymlink
          ? "a symbolic link"
          : "a device or special file"
      }): nothing was written`,
    );
  }
}

/**
 * Writes `data` to `path` atomically, with `mode` for a new file (an
 * existing file keeps its mode). The temporary file goes in `tmpDir`
 * (default: beside `path`; it must be on the same filesystem), for readers
 * that read every file of a directory (NFD's features.d).
 */
export function writeFileAtomic(
  path: string,
  data: string | Uint8Array,
  mode = 0o644,
  tmpDir?: string,
): void {
  const slash = path.lastIndexOf("/");
  const dir = slash < 0 ? "." : slash === 0 ? "/" : path.slice(0, slash);
  const base = path.slice(slash + 1);
  const tmp = `${tmpDir ?? dir}/.${base}.${Deno.pid}.${
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
    // Never rename over a link (it would become a regular file, and its
    // target stay as it was) or anything else that is not a regular file.
    refuseNonRegular(path, "output");
    Deno.renameSync(tmp, path);
  } catch (e) {
    if (e instanceof UsageError) {
      try {
        Deno.removeSync(tmp);
      } catch { /* gone */ }
      throw e;
    }
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
