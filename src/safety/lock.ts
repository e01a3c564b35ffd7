/**
 * Locks on targets: every pmemctl command that writes a target holds an
 * exclusive `flock(2)` on it for its whole run, every reader a shared one.
 * A second pmemctl on a held target is refused at once, naming the holder
 * from `/proc/locks`.
 *
 * @module
 */

import { flock, type Statx } from "../../ffi/mod.ts";
import { SystemError } from "../errors.ts";
import { CAPS, readCapped } from "./bounded.ts";

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

function inUse(path: string, holders: number[], exclusive: boolean) {
  const who = holders.length > 0
    ? `pid ${holders.join(", pid ")}`
    : "another process";
  return new SystemError(
    path,
    `in use: ${who} holds a pmemctl lock on it (${
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
}
