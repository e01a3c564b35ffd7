/**
 * Locks on targets: every pmemctl command that writes a target holds an
 * exclusive `flock(2)` on it for its whole run, every reader a shared one.
 * A second pmemctl on a held target is refused at once, naming the holder
 * from `/proc/locks`.
 *
 * The lock on the node a user named is not enough: a second node made with
 * mknod names the same device, a partition lies inside its disk and a loop
 * device is its backing file. So a run also locks the device itself (its
 * directory in /sys/dev, whatever node it came through), a partition's
 * disk (shared: partitions of one disk do not overlap), and a loop
 * device's file.
 *
 * @module
 */

import {
  constants as C,
  FileHandle,
  flock,
  fstatx,
  type Statx,
  statx,
} from "../../ffi/mod.ts";
import { SystemError } from "../errors.ts";
import type { SystemRoot } from "../sysfs/root.ts";
import { CAPS, readCapped } from "../bounded.ts";
import { type FileIdentity, wholeDisk } from "./identity.ts";

/** One line of `/proc/locks`. */
export interface ProcLock {
  /** `FLOCK`, `POSIX`, `OFDLCK`, `LEASE`… */
  kind: string;
  /** `READ` or `WRITE`. */
  access: string;
  pid: number;
  devMajor: number;
  devMinor: number;
  ino: number;
  /** A waiter (`->`) rather than a holder. */
  waiting: boolean;
}

/** Parses `/proc/locks` (pure). Lines it does not understand are skipped. */
export function parseProcLocks(text: string): ProcLock[] {
  const out: ProcLock[] = [];
  for (const line of text.split("\n")) {
    const m = line.match(
      /^\s*\d+:\s+(->\s+)?(\S+)\s+\S+\s+(\S+)\s+(-?\d+)\s+([0-9a-f]+):([0-9a-f]+):(\d+)\s/i,
    );
    if (!m) continue;
    out.push({
      kind: m[2],
      access: m[3],
      pid: Number(m[4]),
      devMajor: parseInt(m[5], 16),
      devMinor: parseInt(m[6], 16),
      ino: Number(m[7]),
      waiting: m[1] !== undefined,
    });
  }
  return out;
}

/** The pids holding flock(2) locks on the file `st` describes. */
export function lockHolders(locks: ProcLock[], st: Statx): number[] {
  return [
    ...new Set(
      locks.filter((l) =>
        !l.waiting && l.kind === "FLOCK" && l.ino === st.ino &&
        l.devMajor === st.devMajor && l.devMinor === st.devMinor
      ).map((l) => l.pid),
    ),
  ];
}

/** The pids (other than this one) holding flock(2) locks on `st`'s file. */
function holdersOf(st: Statx): number[] {
  try {
    return lockHolders(
      parseProcLocks(readCapped("/proc/locks", CAPS.table)),
      st,
    ).filter((pid) => pid !== Deno.pid);
  } catch {
    return []; // no /proc: say so without a pid
  }
}

function inUse(
  path: string,
  holders: number[],
  exclusive: boolean,
  through = "",
) {
  const who = holders.length > 0
    ? `pid ${holders.join(", pid ")}`
    : "another process";
  return new SystemError(
    path,
    `in use: ${who} holds a pmemctl lock on it${through} (${
      exclusive ? "writing needs it alone" : "it is being written"
    }); try again when that run ends`,
  );
}

/**
 * Takes the lock on the open `fd` (exclusive for writers), or throws a
 * system error (exit 3) naming the pid that holds it. Released when the
 * descriptor closes.
 */
export function lockTarget(
  fd: number,
  path: string,
  st: Statx,
  exclusive: boolean,
): void {
  if (flock(fd, path, exclusive)) return;
  throw inUse(path, holdersOf(st), exclusive);
}

/**
 * For an open that failed as busy (a block device's O_EXCL): the same
 * exit-3 error as {@link lockTarget} when another pmemctl holds a lock on
 * `path`; returns quietly otherwise.
 */
export function refuseIfLocked(path: string, st: Statx): void {
  const holders = holdersOf(st);
  if (holders.length > 0) throw inUse(path, holders, true);
  if (!st.isBlockDevice) return;
  // Another node of the device: the run holds the device's own lock.
  const dir = `/sys/dev/block/${st.rdevMajor}:${st.rdevMinor}`;
  let device: Statx;
  try {
    device = statx(dir);
  } catch {
    return;
  }
  const through = holdersOf(device);
  if (through.length > 0) {
    throw inUse(
      path,
      through,
      true,
      ` through another node of device ${st.rdevMajor}:${st.rdevMinor}`,
    );
  }
}

/** Takes a lock on `path` (opened read-only) for the target `target`, or throws {@link inUse}. */
function lockAlso(
  held: FileHandle[],
  path: string,
  flags: number,
  exclusive: boolean,
  target: string,
  through: string,
  check?: (st: Statx) => boolean,
): void {
  let f: FileHandle;
  try {
    f = new FileHandle(path, C.O_RDONLY | C.O_NONBLOCK | flags);
  } catch {
    return; // gone, or not ours to open: the node's own lock still holds
  }
  let st: Statx;
  let locked: boolean;
  try {
    st = fstatx(f.fd, path);
    if (check && !check(st)) {
      f.close();
      return;
    }
    locked = flock(f.fd, path, exclusive);
  } catch (e) {
    f.close();
    for (const h of held) h.close();
    throw e;
  }
  if (locked) {
    held.push(f);
    return;
  }
  f.close();
  for (const h of held) h.close();
  throw inUse(target, holdersOf(st), exclusive, through);
}

/**
 * Locks what else names the target's bytes (see the module's note): its
 * device, a partition's disk, a loop device's file. Returns the
 * descriptors holding those locks, to close with the target; throws the
 * same exit-3 error as {@link lockTarget} when another run holds one.
 */
export function lockAliases(
  path: string,
  id: FileIdentity,
  exclusive: boolean,
  sys: SystemRoot,
): FileHandle[] {
  const held: FileHandle[] = [];
  if (id.device) {
    const { type, major, minor } = id.device;
    lockAlso(
      held,
      `/sys/dev/${type}/${major}:${minor}`,
      C.O_DIRECTORY,
      exclusive,
      path,
      ` through another node of device ${major}:${minor}`,
    );
    if (type === "block") {
      const disk = wholeDisk(major, minor, sys);
      if (disk !== `${major}:${minor}`) {
        lockAlso(
          held,
          `/sys/dev/block/${disk}`,
          C.O_DIRECTORY,
          false,
          path,
          ` through its disk ${disk}`,
        );
      }
    }
  }
  const file = id.backing;
  if (file?.path) {
    lockAlso(
      held,
      file.path,
      0,
      exclusive,
      path,
      ` through the loop device's file ${file.path}`,
      (st) =>
        st.ino === file.ino && st.devMajor === file.devMajor &&
        st.devMinor === file.devMinor,
    );
  }
  return held;
}
