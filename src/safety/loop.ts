/**
 * A loop device is its backing file: the same bytes under a second name.
 * What the identity checks and the locks need to know of loop devices, and
 * which ones are in use (mounted, or held by another block device).
 *
 * @module
 */

import {
  constants as C,
  FileHandle,
  loopGetStatus64,
  type Statx,
  statx,
} from "../../ffi/mod.ts";
import { parseMountinfo } from "../parse/mountinfo.ts";
import { SystemError } from "../errors.ts";
import type { SystemRoot } from "../sysfs/root.ts";
import { CAPS, readCapped } from "../bounded.ts";

/** The file behind a loop device: its filesystem's device and inode, and the path sysfs gives. */
export interface LoopBacking {
  devMajor: number;
  devMinor: number;
  ino: number;
  /** `loop/backing_file`, when sysfs has one (not for a deleted file). */
  path?: string;
}

/** Whether block device `major:minor` is a loop device. */
export function isLoop(major: number, minor: number, sys: SystemRoot): boolean {
  return sys.exists(`/sys/dev/block/${major}:${minor}/loop`);
}

/** The path sysfs gives for a loop device's file, unless the file was deleted. */
function backingPath(
  major: number,
  minor: number,
  sys: SystemRoot,
): string | undefined {
  const path = sys.attr(`/sys/dev/block/${major}:${minor}/loop/backing_file`)
    ?.replace(/\n$/, "");
  return path && !path.endsWith(" (deleted)") ? path : undefined;
}

/**
 * The backing file of the block device open at `fd` (`st` its statx), when
 * it is a bound loop device; undefined for anything else.
 */
export function loopBackingOf(
  fd: number,
  path: string,
  st: Statx,
  sys: SystemRoot,
): LoopBacking | undefined {
  if (!st.isBlockDevice || !isLoop(st.rdevMajor, st.rdevMinor, sys)) {
    return undefined;
  }
  const status = loopGetStatus64(fd, path);
  if (!status) return undefined;
  const file = backingPath(st.rdevMajor, st.rdevMinor, sys);
  return {
    devMajor: status.devMajor,
    devMinor: status.devMinor,
    ino: status.ino,
    ...(file ? { path: file } : {}),
  };
}

/** {@link loopBackingOf} for a path, opened read-only for the question only. */
export function loopBackingOfPath(
  path: string,
  st: Statx,
  sys: SystemRoot,
): LoopBacking | undefined {
  if (!st.isBlockDevice || !isLoop(st.rdevMajor, st.rdevMinor, sys)) {
    return undefined;
  }
  using f = new FileHandle(path, C.O_RDONLY | C.O_NONBLOCK);
  return loopBackingOf(f.fd, path, st, sys);
}

/** A loop device: its name (`loop0`) and device number. */
export interface LoopDevice {
  name: string;
  major: number;
  minor: number;
}

/** The loop devices whose backing file is the inode `file` names. */
export function loopsOver(
  file: { devMajor: number; devMinor: number; ino: number },
  sys: SystemRoot,
): LoopDevice[] {
  const out: LoopDevice[] = [];
  for (const name of sys.list("/sys/block")) {
    if (!/^loop\d+$/.test(name)) continue;
    const [major, minor] = (sys.attr(`/sys/block/${name}/dev`) ?? "").trim()
      .split(":").map(Number);
    if (!Number.isSafeInteger(major) || !Number.isSafeInteger(minor)) continue;
    const path = backingPath(major, minor, sys);
    if (!path) continue;
    let st: Statx;
    try {
      st = statx(path);
    } catch {
      continue;
    }
    if (
      st.ino === file.ino && st.devMajor === file.devMajor &&
      st.devMinor === file.devMinor
    ) out.push({ name, major, minor });
  }
  return out;
}

/**
 * What keeps block device `major:minor` in use, in words (`mounted at
 * /mnt`, `held by dm-0`), or undefined when nothing does.
 */
export function blockInUse(
  major: number,
  minor: number,
  sys: SystemRoot,
): string | undefined {
  try {
    const mounts = parseMountinfo(
      readCapped("/proc/self/mountinfo", CAPS.table),
    );
    const m = mounts.find((m) => m.major === major && m.minor === minor);
    if (m) return `mounted at ${m.mountPoint}`;
  } catch { /* no /proc: the holders still say something */ }
  const holders = sys.list(`/sys/dev/block/${major}:${minor}/holders`);
  return holders.length > 0 ? `held by ${holders.join(", ")}` : undefined;
}

/**
 * Exit 3 when a loop device over `file` (other than the target itself,
 * `self`) is mounted or held: writing the file under a mounted filesystem
 * corrupts it, through whatever name.
 */
export function refuseLoopsInUse(
  path: string,
  file: { devMajor: number; devMinor: number; ino: number },
  sys: SystemRoot,
  self?: { major: number; minor: number },
): void {
  for (const loop of loopsOver(file, sys)) {
    if (self && loop.major === self.major && loop.minor === self.minor) {
      continue;
    }
    const why = blockInUse(loop.major, loop.minor, sys);
    if (why) {
      throw new SystemError(
        path,
        `its bytes are the file behind /dev/${loop.name}, which is ${why}: unmount it first`,
      );
    }
  }
}
