/**
 * The device at the centre: what `map` and `verify` move bytes through, a
 * block device, a device-DAX character device or a file, opened with the
 * checks that keep data safe (identity, locks, O_EXCL). What is done with it
 * lives beside it, one job per module, called with the target:
 * windows.ts (aligned windows), durability.ts (mappings, msync, CPU cache
 * flushes), checks.ts (range, bad blocks, signature, holes, a file that
 * still holds its bytes), info.ts (how writes become durable), direct.ts
 * (O_DIRECT).
 *
 * @module
 */

import {
  blkGetSize64,
  constants as C,
  Errno,
  FileHandle,
  fstatx,
  type Mapping,
  OsError,
  pageSize,
  type Statx,
  statx,
} from "../../ffi/mod.ts";
import { SystemError, UsageError } from "../errors.ts";
import { kmemBlocks } from "../sysfs/block.ts";
import { SystemRoot } from "../sysfs/root.ts";
import { type FileIdentity, identityOf } from "../safety/identity.ts";
import { lockAliases, lockTarget, refuseIfLocked } from "../safety/lock.ts";
import { loopBackingOf, refuseLoopsInUse } from "../safety/loop.ts";
import { DirectIO } from "./direct.ts";
import * as durability from "./durability.ts";
import { io, type TargetIo } from "./info.ts";
import type { Window } from "./windows.ts";

/** The kinds of target, as `map info` names them. */
export type TargetKind = "block" | "devdax" | "file";

const sys = new SystemRoot("/");

/**
 * A device-DAX given to the kernel as System RAM (kmem) cannot be opened
 * (ENXIO, or its node is gone): say so, and how to get it back (exit 3).
 */
function refuseKmem(path: string, name: string): void {
  const dir = `/sys/bus/dax/devices/${name}`;
  if (sys.linkName(`${dir}/driver`) !== "kmem") return;
  const blocks = kmemBlocks(sys, dir);
  throw new SystemError(
    path,
    `${name} is in use as System RAM (kmem${
      blocks ? `, ${blocks.online} of ${blocks.total} memory blocks online` : ""
    }), not a device to map; to give it back: daxctl offline-memory ${name} && daxctl reconfigure-device --mode=devdax ${name}`,
  );
}

/** An open target as a worker thread receives it (structured-clonable). */
export interface TargetShare {
  path: string;
  kind: TargetKind;
  fd: number;
  size: number;
  align: number;
  writable: boolean;
  device: string | undefined;
  fileDax: boolean;
  identity: FileIdentity;
  op: string;
}

/** An open target. Close with `using` or {@link Target.close}. */
export class Target implements Disposable {
  private constructor(
    readonly path: string,
    readonly kind: TargetKind,
    readonly file: FileHandle,
    readonly size: number,
    readonly align: number,
    readonly writable: boolean,
    /** The kernel's device name (`pmem0`, `dax0.0`). */
    readonly device: string | undefined,
    /** The file's statx DAX attribute (files only). */
    readonly fileDax: boolean,
    /** What the target is (inode, or device number), for overlap checks. */
    readonly identity: FileIdentity,
    /** The command using it (`map zero`, `verify rw`), for messages. */
    readonly op: string,
  ) {}

  /** The locks on what else names the target's bytes (lock.ts's lockAliases). */
  #aliasLocks: FileHandle[] = [];

  /** The block device's O_DIRECT descriptor: not yet opened (undefined) or refused (null). */
  #direct: DirectIO | null | undefined;

  /**
   * A block device's `O_DIRECT` descriptor (direct.ts), opened on first
   * use: pread and pwrite of block devices go through it. Undefined for
   * other targets, and for a device that refuses `O_DIRECT`.
   */
  get direct(): DirectIO | undefined {
    if (this.kind !== "block") return undefined;
    if (this.#direct === undefined) {
      this.#direct = DirectIO.open(this.file.fd, this.path, this.writable) ??
        null;
    }
    return this.#direct ?? undefined;
  }

  /**
   * Opens `path` for reading or writing, for the command `op` (named in
   * messages). Writers hold an exclusive lock on the target until it is
   * closed, readers a shared one; a target another pmemctl holds is exit 3.
   * `lock: false` is for looking only (`map info`), never for moving bytes.
   * Block devices are opened with `O_EXCL` for writing too, which fails
   * (exit 3) when they are mounted or held.
   */
  static open(
    path: string,
    mode: "read" | "write",
    op = "map",
    lock = true,
  ): Target {
    const target = Target.#open(path, mode, op);
    if (!lock) return target;
    try {
      const st = fstatx(target.file.fd, path);
      const write = mode === "write";
      lockTarget(target.file.fd, path, st, write);
      target.#aliasLocks = lockAliases(path, target.identity, write, sys);
      const file = target.identity.backing ??
        (target.identity.device ? undefined : target.identity);
      if (write && file) {
        refuseLoopsInUse(path, file, sys, target.identity.device);
      }
    } catch (e) {
      target.close();
      throw e;
    }
    return target;
  }

  /** What a worker thread needs to use this open target (see {@link Target.borrow}). */
  share(): TargetShare {
    return {
      path: this.path,
      kind: this.kind,
      fd: this.file.fd,
      size: this.size,
      align: this.align,
      writable: this.writable,
      device: this.device,
      fileDax: this.fileDax,
      identity: this.identity,
      op: this.op,
    };
  }

  /**
   * In a worker thread of the same process: the target the main thread
   * opened, through its very descriptor (same file, same lock, same
   * `O_EXCL` claim; nothing is opened again by path). Closing it leaves the
   * descriptor to the main thread.
   */
  static borrow(s: TargetShare): Target {
    return new Target(
      s.path,
      s.kind,
      new FileHandle(s.path, { borrow: s.fd }),
      s.size,
      s.align,
      s.writable,
      s.device,
      s.fileDax,
      s.identity,
      s.op,
    );
  }

  static #open(path: string, mode: "read" | "write", op: string): Target {
    let st: Statx;
    try {
      st = statx(path);
    } catch (e) {
      const name = path.match(/^\/dev\/(dax\d+\.\d+)$/)?.[1];
      if (e instanceof OsError && e.errno === Errno.ENOENT && name) {
        refuseKmem(path, name);
      }
      throw e;
    }
    const id = identityOf(st);
    const write = mode === "write";
    if (st.isBlockDevice) {
      const device = sys.realPath(
        `/sys/dev/block/${st.rdevMajor}:${st.rdevMinor}`,
      )?.split("/").pop();
      let file: FileHandle;
      try {
        file = new FileHandle(path, write ? C.O_RDWR | C.O_EXCL : C.O_RDONLY);
      } catch (e) {
        if (e instanceof OsError && e.errno === Errno.EBUSY) {
          // Another pmemctl writing it holds O_EXCL too: name it.
          refuseIfLocked(path, st);
          throw new OsError(
            "open",
            path,
            e.errno,
            "mounted, or held by another user: unmount it first",
          );
        }
        throw e;
      }
      let backing;
      try {
        backing = loopBackingOf(file.fd, path, st, sys);
      } catch (e) {
        file.close();
        throw e;
      }
      return new Target(
        path,
        "block",
        file,
        blkGetSize64(file.fd, path),
        pageSize(),
        write,
        device,
        false,
        backing ? { ...id, backing } : id,
        op,
      );
    }
    if (st.isCharDevice) {
      const dev = `/sys/dev/char/${st.rdevMajor}:${st.rdevMinor}`;
      if (sys.linkName(`${dev}/subsystem`) !== "dax") {
        throw new UsageError(path, "a character device that is not device-DAX");
      }
      const name = sys.realPath(dev)!.split("/").pop()!;
      refuseKmem(path, name);
      const size = sys.number(`/sys/bus/dax/devices/${name}/size`);
      const align = sys.number(`/sys/bus/dax/devices/${name}/align`) ?? 2 ** 21;
      if (size === undefined) {
        throw new SystemError(path, `no size in /sys/bus/dax/devices/${name}`);
      }
      const file = new FileHandle(path, write ? C.O_RDWR : C.O_RDONLY);
      return new Target(
        path,
        "devdax",
        file,
        size,
        align,
        write,
        name,
        true,
        id,
        op,
      );
    }
    if (st.isFile) {
      const file = new FileHandle(path, write ? C.O_RDWR : C.O_RDONLY);
      const fst = fstatx(file.fd, path);
      return new Target(
        path,
        "file",
        file,
        fst.size,
        pageSize(),
        write,
        undefined,
        fst.dax,
        identityOf(fst),
        op,
      );
    }
    throw new UsageError(
      path,
      "not a block device, device-DAX or regular file",
    );
  }

  /** Whether mappings of this target bypass the page cache (device-DAX, DAX files). */
  get dax(): boolean {
    return this.kind === "devdax" || (this.kind === "file" && this.fileDax);
  }

  /**
   * Maps the aligned window `w` (durability.ts): a file is first checked
   * to still hold it; a SIGBUS a race still brings is reported by the
   * guard, with `done` (what the run did before this window) when given.
   */
  map(w: Window, populate = true, done?: string): Mapping {
    return durability.map(this, w, populate, done);
  }

  /** Makes bytes written through `m` durable (durability.ts); false when nothing could flush. */
  persist(m: Mapping, start: number, length: number): boolean {
    return durability.persist(this, m, start, length);
  }

  /** Whether writes to this target can be made durable (false: device-DAX without libpmem). */
  canPersist(): boolean {
    return durability.canPersist(this);
  }

  /** Copies `length` bytes from `src` into the target at `start` through `m`, durable (durability.ts). */
  copyIn(
    m: Mapping,
    start: number,
    src: Deno.PointerObject,
    length: number,
  ): boolean {
    return durability.copyIn(this, m, start, src, length);
  }

  /** fsync(2) the descriptor (no-op for device-DAX, which has none). */
  flush(): void {
    durability.flush(this);
  }

  /** The persistence domain of the libnvdimm region behind a device, when there is one. */
  persistenceDomain(): string | undefined {
    return durability.persistenceDomain(this);
  }

  /** How map moves this target's bytes (info.ts). */
  get io(): TargetIo {
    return io(this);
  }

  /** Closes the O_DIRECT descriptor, if one was opened (a worker does after each job). */
  closeDirect(): void {
    this.#direct?.close();
    this.#direct = undefined;
  }

  close(): void {
    this.closeDirect();
    this.file.close();
    for (const f of this.#aliasLocks) f.close();
    this.#aliasLocks = [];
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
