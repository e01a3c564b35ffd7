/**
 * No self-destruction: an output, journal or input path must never be the
 * target itself, through any symlink, hard link, second device node or
 * loop device.
 *
 * @module
 */

import { fstatx, type Statx, statx } from "../../ffi/mod.ts";
import { UsageError } from "../errors.ts";
import { SystemRoot } from "../sysfs/root.ts";
import { type LoopBacking, loopBackingOfPath } from "./loop.ts";

/** What identifies a file or device: its inode, or the device it names. */
export interface FileIdentity {
  devMajor: number;
  devMinor: number;
  ino: number;
  /** For device nodes: `block` or `char` and the device number. */
  device?: { type: "block" | "char"; major: number; minor: number };
  /** For a loop device: the file behind it, whose bytes it is. */
  backing?: LoopBacking;
}

/** The identity of what `st` describes. */
export function identityOf(st: Statx): FileIdentity {
  const device = st.isBlockDevice || st.isCharDevice
    ? {
      type: st.isBlockDevice ? "block" as const : "char" as const,
      major: st.rdevMajor,
      minor: st.rdevMinor,
    }
    : undefined;
  return {
    devMajor: st.devMajor,
    devMinor: st.devMinor,
    ino: st.ino,
    ...(device ? { device } : {}),
  };
}

/** The whole disk a block device belongs to (itself, or a partition's disk), as `major:minor`. */
export function wholeDisk(
  major: number,
  minor: number,
  sys: SystemRoot,
): string {
  const real = sys.realPath(`/sys/dev/block/${major}:${minor}`);
  if (!real) return `${major}:${minor}`;
  if (!sys.exists(`${real}/partition`)) return `${major}:${minor}`;
  const disk = real.split("/").slice(0, -1).join("/");
  return sys.attr(`${disk}/dev`)?.trim() ?? `${major}:${minor}`;
}

/**
 * Whether two identities are the same bytes: the same inode, the same
 * device (any node for it), or block devices on the same disk (a disk and
 * its partitions overlap).
 */
export function sameBytes(
  a: FileIdentity,
  b: FileIdentity,
  sys = new SystemRoot("/"),
): boolean {
  // A loop device is the file behind it (and so is every other loop over it).
  const fileA = a.backing ?? (a.device ? undefined : a);
  const fileB = b.backing ?? (b.device ? undefined : b);
  if (
    (a.backing || b.backing) && fileA && fileB && fileA.ino === fileB.ino &&
    fileA.devMajor === fileB.devMajor && fileA.devMinor === fileB.devMinor
  ) return true;
  if (a.device && b.device && a.device.type === b.device.type) {
    if (
      a.device.major === b.device.major && a.device.minor === b.device.minor
    ) {
      return true;
    }
    return a.device.type === "block" &&
      wholeDisk(a.device.major, a.device.minor, sys) ===
        wholeDisk(b.device.major, b.device.minor, sys);
  }
  if (a.device || b.device) return false;
  return a.devMajor === b.devMajor && a.devMinor === b.devMinor &&
    a.ino === b.ino;
}

/** The identity of `path` after symlinks, or undefined when it does not exist. */
export function identityOfPath(path: string): FileIdentity | undefined {
  let st;
  try {
    st = statx(path);
  } catch {
    return undefined;
  }
  const id = identityOf(st);
  let backing;
  try {
    backing = loopBackingOfPath(path, st, new SystemRoot("/"));
  } catch { /* not openable: a loop's file cannot be told */ }
  return backing ? { ...id, backing } : id;
}

/**
 * Usage error (exit 2) when `path`, used as `role` (`--output`,
 * `--journal`, `--input`), is the target itself. Call it before `path` is
 * opened for writing.
 */
export function refuseTarget(
  target: { path: string; identity: FileIdentity },
  path: string,
  role: string,
): void {
  const id = identityOfPath(path);
  if (id && sameBytes(id, target.identity)) {
    throw new UsageError(
      `${role} ${path}`,
      `is the target ${target.path} itself (same ${
        id.device ? "device" : "file"
      }): nothing was written`,
    );
  }
}

/** Usage error (exit 2) when the open descriptor `fd` (stdin, stdout) is the target itself. */
export function refuseStream(
  target: { path: string; identity: FileIdentity },
  fd: number,
  name: string,
): void {
  let id: FileIdentity;
  try {
    id = identityOf(fstatx(fd, name));
  } catch {
    return; // closed: nothing to overwrite
  }
  if (sameBytes(id, target.identity)) {
    throw new UsageError(
      name,
      `is the target ${target.path} itself: nothing was written`,
    );
  }
}
