/**
 * What `map` moves bytes through: a block device, a device-DAX character
 * device or a file, opened with the checks that keep data safe, mapped in
 * aligned windows, and made durable the way its kind requires.
 *
 * @module
 */

import {
  blkGetSize64,
  constants as C,
  copyMemory,
  Errno,
  fallocate,
  FileHandle,
  fstatx,
  fsync,
  holes,
  libpmem,
  Mapping,
  OsError,
  pageSize,
  pmemCopyPersist,
  pmemPersist,
  pread,
  type Statx,
  statx,
} from "../../ffi/mod.ts";
import { SystemError, UsageError } from "../errors.ts";
import {
  type BadRange,
  parseBadblocks,
  readDaxBadRanges,
  regionInPath,
} from "../sysfs/nd.ts";
import { kmemBlocks } from "../sysfs/block.ts";
import { SystemRoot } from "../sysfs/root.ts";
import { type FileIdentity, identityOf } from "../safety/identity.ts";
import { lockAliases, lockTarget, refuseIfLocked } from "../safety/lock.ts";
import { loopBackingOf, refuseLoopsInUse } from "../safety/loop.ts";
import { hex } from "../units.ts";
import { DirectIO } from "./direct.ts";
import { detectSignature, SIGNATURE_BYTES } from "./signature.ts";

/** The kinds of target, as `map info` names them. */
export type TargetKind = "block" | "devdax" | "file";

/** How written data is made durable. */
export type Persistence = "msync" | "map_sync" | "devdax";

/** `map info`'s answer (spec keys first). */
export interface TargetInfo {
  path: string;
  kind: TargetKind;
  size: number;
  /** The mapping bypasses the page cache. */
  dax: boolean;
  map_sync: boolean;
  align: number;
  persistence: Persistence;
  /** How bytes move: non-temporal stores or plain ones through a DAX mapping, O_DIRECT (block devices), or pread/pwrite through the page cache. */
  io: "mmap-nt" | "mmap" | "pwrite" | "o_direct";
  /** The kernel's name for it (`pmem0`, `dax0.0`), for devices. */
  device?: string;
  /** How CPU caches are flushed after writes: by the kernel (msync), libpmem, or not at all. */
  cache_flush: "msync" | "libpmem" | "none";
  /** The region's persistence domain, for devices from libnvdimm. */
  persistence_domain?: string;
  warnings: string[];
}

/** Bytes given blocks per fallocate call (so a signal is noticed between them). */
const RESERVE_STEP = 256 * 2 ** 20;

/** Bytes mapped at a time: memory stays flat whatever the target's size. */
export const WINDOW = 16 * 2 ** 20;

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

function alignDown(n: number, a: number): number {
  return n - (n % a);
}

function alignUp(n: number, a: number): number {
  return alignDown(n + a - 1, a);
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

/** A byte range of a target and the aligned mapping that holds it. */
export interface Window {
  /** Where the mapping starts in the target, and its length (both aligned). */
  mapStart: number;
  mapLength: number;
  /** The range's bytes inside it: target offset and length. */
  start: number;
  length: number;
}

/** Splits `[offset, offset+length)` into aligned windows of at most `window` bytes. */
export function windows(
  offset: number,
  length: number,
  align: number,
  window = WINDOW,
): Window[] {
  const out: Window[] = [];
  const size = alignUp(Math.max(window, align), align);
  const end = offset + length;
  for (let cur = offset; cur < end;) {
    const mapStart = alignDown(cur, align);
    const mapEnd = Math.min(mapStart + size, alignUp(end, align));
    const stop = Math.min(end, mapEnd);
    out.push({
      mapStart,
      mapLength: mapEnd - mapStart,
      start: cur,
      length: stop - cur,
    });
    cur = stop;
  }
  return out;
}

/** The disk a partition (`pmem0p2`) lies on and its first byte there; undefined for a whole disk. */
function partitionOf(
  device: string,
): { disk: string; start: number } | undefined {
  const real = sys.realPath(`/sys/class/block/${device}`);
  if (!real || !sys.exists(`${real}/partition`)) return undefined;
  const sector = sys.number(`${real}/start`);
  const disk = real.split("/").at(-2);
  return sector === undefined || !disk
    ? undefined
    : { disk, start: sector * 512 };
}

/** A disk's bad ranges as byte ranges of its partition at `start` holding `size` bytes. */
export function onPartition(
  ranges: BadRange[],
  start: number,
  size: number,
): BadRange[] {
  return ranges.filter((b) => b.end > start && b.start < start + size)
    .map((b) => ({
      ...b,
      start: Math.max(0, b.start - start),
      end: Math.min(size, b.end - start),
    }));
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
   * Maps the aligned window `w`. Files ask for MAP_SYNC first and fall back.
   * A file is first checked to still hold the window (exit 3 when it
   * shrank); a SIGBUS that a race still brings is reported by the guard,
   * with `done` (what the run did before this window) when given.
   */
  map(w: Window, populate = true, done?: string): Mapping {
    this.checkStillHolds(w.start + w.length);
    return Mapping.map(this.file.fd, this.path, {
      fault: {
        prefix: `pmemctl: ${this.op} ${this.path}: `,
        // What was done before this window, for the guard's one line.
        reason: (this.kind === "file"
          ? "the target shrank or its filesystem is full"
          : "the device was disabled or shrank") + (done ? ` (${done})` : ""),
      },
      offset: w.mapStart,
      length: w.mapLength,
      writable: this.writable,
      // MAP_SYNC only matters for stores; block devices refuse it (EOPNOTSUPP).
      sync: this.kind === "block" || !this.writable ? "off" : "try",
      populate,
    });
  }

  /** Whether a mapping of this target gets MAP_SYNC (probed with one page or align unit). */
  probeMapSync(): boolean {
    if (this.kind === "block" || this.size === 0) return false;
    const length = Math.min(this.align, alignUp(this.size, pageSize()));
    using m = Mapping.map(this.file.fd, this.path, {
      length,
      writable: this.writable,
      sync: "try",
    });
    return m.mapSync;
  }

  /** The persistence domain of the libnvdimm region behind a device, when there is one. */
  persistenceDomain(): string | undefined {
    if (!this.device) return undefined;
    const dir = this.kind === "block"
      ? `/sys/block/${this.device}`
      : `/sys/bus/dax/devices/${this.device}`;
    const region = regionInPath(sys.realPath(dir));
    if (!region) return undefined;
    return sys.attr(`/sys/bus/nd/devices/${region}/persistence_domain`)
      ?.trim() || "unknown";
  }

  /** `map info`'s description, telling the truth about durability. */
  info(): TargetInfo {
    const mapSync = this.probeMapSync();
    const domain = this.persistenceDomain();
    const warnings: string[] = [];
    let persistence: Persistence = "msync";
    let flush: TargetInfo["cache_flush"] = "msync";
    if (this.kind === "devdax") {
      persistence = "devdax";
      flush = libpmem() ? "libpmem" : "none";
      if (flush === "none" && domain !== "cpu_cache") {
        warnings.push(
          "writes may sit in CPU caches: device-DAX has no msync and libpmem (apt-get install libpmem1) is not installed",
        );
      }
    } else if (mapSync) {
      persistence = "map_sync";
    }
    return {
      path: this.path,
      kind: this.kind,
      size: this.size,
      dax: this.dax,
      map_sync: mapSync,
      align: this.align,
      persistence,
      io: this.io,
      ...(this.device ? { device: this.device } : {}),
      cache_flush: flush,
      ...(domain ? { persistence_domain: domain } : {}),
      warnings,
    };
  }

  /** How map moves this target's bytes: non-temporal or plain stores through a DAX mapping, O_DIRECT, or pread/pwrite through the page cache. */
  get io(): TargetInfo["io"] {
    if (this.kind === "devdax" && libpmem()) return "mmap-nt";
    if (this.dax) return "mmap";
    return this.direct ? "o_direct" : "pwrite";
  }

  /**
   * Makes the bytes written through `m` in `[start, start+length)` of the
   * target durable: msync (page cache, DAX files) or a CPU cache flush
   * (device-DAX, through libpmem). Returns false when nothing could flush.
   */
  persist(m: Mapping, start: number, length: number): boolean {
    if (length === 0) return true;
    const at = start - m.offset;
    if (this.kind === "devdax") {
      return pmemPersist(m.pointer(at), length) || this.#cachesPersist();
    }
    m.sync(at, length);
    return true;
  }

  #cpuCache: boolean | undefined;

  /** The region's persistence domain covers CPU caches: stores are durable as they land. */
  #cachesPersist(): boolean {
    return this.#cpuCache ??= this.persistenceDomain() === "cpu_cache";
  }

  /** Whether writes to this target can be made durable (false: device-DAX without libpmem). */
  canPersist(): boolean {
    return this.kind !== "devdax" || libpmem() !== null ||
      this.#cachesPersist();
  }

  /**
   * Copies `length` bytes from `src` into the target at `start` through `m`
   * and makes them durable: on device-DAX with libpmem's non-temporal copy,
   * which needs no flush pass afterwards; elsewhere with memcpy and then
   * {@link Target.persist}. Returns false when nothing could flush.
   */
  copyIn(
    m: Mapping,
    start: number,
    src: Deno.PointerObject,
    length: number,
  ): boolean {
    if (length === 0) return true;
    const dest = m.pointer(start - m.offset);
    if (this.kind === "devdax" && pmemCopyPersist(dest, src, length)) {
      return true;
    }
    copyMemory(dest, src, length);
    return this.persist(m, start, length);
  }

  /** fsync(2) the descriptor (no-op for device-DAX, which has none). */
  flush(): void {
    if (this.kind !== "devdax") fsync(this.file.fd, this.path);
  }

  /** System error (exit 3) when a file target no longer reaches `end` (devices do not shrink under an open descriptor). */
  checkStillHolds(end: number): void {
    if (this.kind !== "file") return;
    const now = fstatx(this.file.fd, this.path).size;
    if (now < end) {
      throw new SystemError(
        `${this.op} ${this.path}`,
        `the target shrank to ${now} bytes (it held ${this.size}) at offset ${now}`,
      );
    }
  }

  /**
   * Before writing `[offset, offset+length)` of a file: gives the range its
   * blocks now (fallocate, 256 MiB at a time), so a full filesystem is
   * found before the first byte changes instead of as a SIGBUS in the
   * middle. Devices have nothing to allocate; filesystems without
   * fallocate are left to the guard. Between steps it asks `poll`; when
   * that gives a reason to stop, the blocks it took are given back and the
   * reason is returned.
   */
  async reserve(
    offset: number,
    length: number,
    poll?: () => Promise<string | undefined>,
  ): Promise<string | undefined> {
    if (this.kind !== "file" || length === 0) return undefined;
    const before = holes(this.file.fd, offset, length);
    // Every block is there already (SEEK_HOLE finds none): nothing to give.
    if (before.length === 0) return await poll?.();
    // Some filesystems (ext4) keep what they allocated before running out:
    // give the holes back, so the file is as it was.
    const giveBack = () => {
      for (const [start, end] of before) {
        try {
          fallocate(
            this.file.fd,
            this.path,
            start,
            end - start,
            C.FALLOC_FL_PUNCH_HOLE | C.FALLOC_FL_KEEP_SIZE,
          );
        } catch { /* best effort: the data is unchanged either way */ }
      }
    };
    const end = offset + length;
    for (let at = offset; at < end; at += RESERVE_STEP) {
      const why = await poll?.();
      if (why) {
        giveBack();
        return why;
      }
      try {
        // KEEP_SIZE: never extend a file another process just shrank.
        fallocate(
          this.file.fd,
          this.path,
          at,
          Math.min(RESERVE_STEP, end - at),
          C.FALLOC_FL_KEEP_SIZE,
        );
      } catch (e) {
        if (!(e instanceof OsError)) throw e;
        if (e.code === "EOPNOTSUPP") return undefined;
        if (e.code !== "ENOSPC" && e.code !== "EDQUOT") throw e;
        giveBack();
        throw new SystemError(
          `${this.op} ${this.path}`,
          `its filesystem is full: the ${length} bytes at offset ${offset} cannot all be given blocks; nothing was written`,
        );
      }
    }
    return undefined;
  }

  /** Usage error unless `[offset, offset+length)` lies inside the target. */
  checkRange(offset: number, length: number): void {
    if (offset > this.size || length > this.size - offset) {
      throw new UsageError(
        `${this.path}`,
        `range ${offset}+${length} is past the end (the target holds ${this.size} bytes)`,
      );
    }
  }

  /**
   * The device's known bad byte ranges: the block device's own list, or for
   * device-DAX its region's list placed on the device; `frame` names the
   * sectors the entries count in.
   */
  knownBadRanges(): { ranges: BadRange[]; frame: string } {
    if (this.kind === "block" && this.device) {
      const part = partitionOf(this.device);
      if (!part) {
        const text = sys.text(`/sys/block/${this.device}/badblocks`);
        return { ranges: parseBadblocks(text), frame: "sectors" };
      }
      // A partition has no list of its own: its disk's, moved to the partition.
      const text = sys.text(`/sys/block/${part.disk}/badblocks`);
      return {
        ranges: onPartition(parseBadblocks(text), part.start, this.size),
        frame: `${part.disk} sectors`,
      };
    }
    if (this.kind === "devdax" && this.device) {
      const { region, ranges } = readDaxBadRanges(sys, this.device);
      return { ranges, frame: `${region} sectors` };
    }
    return { ranges: [], frame: "" };
  }

  /** System error when known bad blocks lie in `[offset, offset+length)`. */
  checkBadBlocks(offset: number, length: number): void {
    const { ranges, frame } = this.knownBadRanges();
    for (const b of ranges) {
      if (b.start < offset + length && b.end > offset) {
        throw new SystemError(
          this.path,
          `known bad blocks at bytes ${hex(b.start)}-${
            hex(b.end - 1)
          } (${frame} ${b.sector}+${b.count}) lie in the range: ` +
            `not touching poisoned memory (clear them, e.g. ndctl clear-errors, or pick another range)`,
        );
      }
    }
  }

  /** Usage error when a block device carries a filesystem or swap signature. */
  checkSignature(): void {
    if (this.kind !== "block") return;
    const head = new Uint8Array(Math.min(SIGNATURE_BYTES, this.size));
    pread(this.file.fd, head, 0, this.path);
    const found = detectSignature(head);
    if (found) {
      throw new UsageError(
        this.path,
        `carries a ${found} signature: pass --force to overwrite it`,
      );
    }
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
