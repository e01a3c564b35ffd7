/**
 * The only place pmemctl opens libc. Each wrapper checks the return value,
 * reads errno immediately after a failing call, and throws an {@link OsError}
 * naming the call and the path. Above this module nothing sees a raw return
 * code.
 *
 * @module
 */

import { SystemError } from "./errors.ts";
import * as C from "./constants.ts";
import { Errno, errnoName, settleErrno } from "./errno.ts";
import { sleepSync } from "./sleep.ts";
import { type LibcSymbols, libcSymbols } from "./symbols.ts";

let loaded: LibcSymbols | undefined;
let errnoView: Deno.UnsafePointerView | undefined;

/** libc's symbols, loaded on first use. */
export function libc(): LibcSymbols {
  if (loaded) return loaded;
  // Every constant, ioctl number and struct layout here is x86_64 Linux's:
  // elsewhere pmemctl would pass wrong flags, so it says so instead.
  if (Deno.build.os !== "linux" || Deno.build.arch !== "x86_64") {
    throw new SystemError(
      "pmemctl",
      `its system interface is written for x86_64 Linux, and this is ${Deno.build.os}/${Deno.build.arch}`,
    );
  }
  try {
    loaded = Deno.dlopen("libc.so.6", libcSymbols).symbols;
  } catch (cause) {
    throw new SystemError(
      "libc.so.6",
      `cannot load it through FFI (run with -A): ${(cause as Error).message}`,
      { cause },
    );
  }
  // errno's address, resolved once: pmemctl calls libc from the main thread
  // only, whose errno does not move, so reading it needs no native call.
  // Deno's runtime can still overwrite errno between a failed call and its
  // reading (seen once or twice in fresh guests: ENOENT after a refused
  // MAP_SYNC; in CI: EAGAIN for a missing file), so decisions that matter do
  // not hinge on the errno value, and calls that can be repeated without
  // effect (open, statx) are repeated until two readings agree.
  const location = loaded.__errno_location();
  if (location === null) {
    throw new SystemError("libc.so.6", "__errno_location() returned NULL");
  }
  errnoView = new Deno.UnsafePointerView(location);
  return loaded;
}

let page: number | undefined;

/** The system's page size (`sysconf(_SC_PAGESIZE)`), 4096 on x86_64. */
export function pageSize(): number {
  return page ??= Number(libc().sysconf(C._SC_PAGESIZE)) || 4096;
}

/** The calling thread's errno; read it right after the failing call. */
export function errno(): number {
  libc();
  return errnoView!.getInt32();
}

/** libc's message for an errno value. */
export function strerror(code: number): string {
  const ptr = libc().strerror(code);
  return ptr === null
    ? `errno ${code}`
    : Deno.UnsafePointerView.getCString(ptr);
}

/** A failed system call: `mmap /dev/dax0.0: EINVAL (Invalid argument)`. Exit 3. */
export class OsError extends SystemError {
  /** The errno's symbolic name, e.g. `"EINVAL"`. */
  readonly code: string;

  /** `call` is the libc function; `path` what it acted on; `hint` replaces strerror's text. */
  constructor(
    readonly call: string,
    readonly path: string,
    readonly errno: number,
    hint?: string,
  ) {
    const code = errnoName(errno);
    super(`${call} ${path}`, `${code} (${hint ?? strerror(errno)})`);
    this.code = code;
  }
}

/** Throws an OsError with the current errno; call it right after a failure. */
export function fail(call: string, path: string, hint?: string): never {
  throw new OsError(call, path, errno(), hint);
}

/** A NUL-terminated copy of a path for libc. */
export function cString(text: string): Uint8Array<ArrayBuffer> {
  return new TextEncoder().encode(text + "\0");
}

/**
 * Runs a call that has no effect when it fails (`attempt` returns undefined
 * then), repeating a failure until two errno readings agree (settleErrno);
 * throws an OsError naming `call` and `path`.
 */
export function settled<T>(
  call: string,
  path: string,
  attempt: () => T | undefined,
): T {
  const r = settleErrno(attempt, errno);
  if ("errno" in r) throw new OsError(call, path, r.errno);
  return r.value;
}

/** `open(2)`; returns the file descriptor. */
export function open(path: string, flags: number, mode = 0o644): number {
  const name = cString(path);
  return settled("open", path, () => {
    const fd = libc().open(name, flags | C.O_CLOEXEC, mode);
    return fd < 0 ? undefined : fd;
  });
}

/** `close(2)`. */
export function close(fd: number, path = `fd ${fd}`): void {
  if (libc().close(fd) !== 0) fail("close", path);
}

/** An open file descriptor that `using` closes. */
export class FileHandle implements Disposable {
  #fd: number;
  #owned = true;

  /**
   * Opens `path` with `open(2)` flags; or, given `{ borrow: fd }`, wraps a
   * descriptor this process already holds (a worker thread using the main
   * thread's): closing it then leaves the descriptor open for its owner.
   */
  constructor(
    readonly path: string,
    flags: number | { borrow: number },
    mode = 0o644,
  ) {
    if (typeof flags === "number") this.#fd = open(path, flags, mode);
    else {
      this.#fd = flags.borrow;
      this.#owned = false;
    }
  }

  /** The descriptor; throws once closed. */
  get fd(): number {
    if (this.#fd < 0) throw new SystemError(this.path, "file is closed");
    return this.#fd;
  }

  /** Closes the descriptor; closing twice is a no-op. */
  close(): void {
    if (this.#fd < 0) return;
    const fd = this.#fd;
    this.#fd = -1;
    if (this.#owned) close(fd, this.path);
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

function ioctlPointer(
  fd: number,
  request: number,
  arg: ArrayBufferView,
  name: string,
  path: string,
): void {
  const rc = libc().ioctl(fd, BigInt(request), Deno.UnsafePointer.of(arg));
  if (rc < 0) fail(`ioctl ${name}`, path);
}

/** `ioctl(BLKGETSIZE64)`: a block device's size in bytes. */
export function blkGetSize64(fd: number, path: string): number {
  const out = new BigUint64Array(1);
  ioctlPointer(fd, C.BLKGETSIZE64, out, "BLKGETSIZE64", path);
  return Number(out[0]);
}

/** The file behind a loop device, as `ioctl(LOOP_GET_STATUS64)` says. */
export interface LoopStatus {
  /** The backing file's filesystem device and inode. */
  devMajor: number;
  devMinor: number;
  ino: number;
  /** Where in the file the device starts, and its size limit (0: the file's end). */
  offset: number;
  sizeLimit: number;
}

/**
 * `ioctl(LOOP_GET_STATUS64)` on an open loop device: its backing file, or
 * undefined for a loop device with none (ENXIO).
 */
export function loopGetStatus64(
  fd: number,
  path: string,
): LoopStatus | undefined {
  const raw = new Uint8Array(C.LOOP_INFO64_SIZE);
  try {
    settled(
      "ioctl LOOP_GET_STATUS64",
      path,
      () =>
        libc().ioctl(
            fd,
            BigInt(C.LOOP_GET_STATUS64),
            Deno.UnsafePointer.of(raw),
          ) <
            0
          ? undefined
          : true,
    );
  } catch (e) {
    if (e instanceof OsError && e.errno === Errno.ENXIO) return undefined;
    throw e;
  }
  const v = new DataView(raw.buffer);
  // lo_device is the kernel's huge_encode_dev(): minor's low byte, major, minor's rest.
  const dev = v.getBigUint64(0, true);
  return {
    devMajor: Number((dev >> 8n) & 0xfffn),
    devMinor: Number((dev & 0xffn) | ((dev >> 12n) & 0xfff00n)),
    ino: Number(v.getBigUint64(8, true)),
    offset: Number(v.getBigUint64(24, true)),
    sizeLimit: Number(v.getBigUint64(32, true)),
  };
}

/** `ioctl(BLKSSZGET)`: a block device's logical sector size. */
export function blkSszGet(fd: number, path: string): number {
  const out = new Int32Array(1);
  ioctlPointer(fd, C.BLKSSZGET, out, "BLKSSZGET", path);
  return out[0];
}

/** The fields of `struct fsxattr` pmemctl reads. */
export interface FsXattr {
  xflags: number;
  extsize: number;
  nextents: number;
  projid: number;
  /** `FS_XFLAG_DAX` is set: the file asks for DAX under `dax=inode`. */
  daxFlag: boolean;
}

/** `ioctl(FS_IOC_FSGETXATTR)`. */
export function fsGetXattr(fd: number, path: string): FsXattr {
  const raw = new Uint8Array(C.FSXATTR_SIZE);
  ioctlPointer(fd, C.FS_IOC_FSGETXATTR, raw, "FS_IOC_FSGETXATTR", path);
  const v = new DataView(raw.buffer);
  const xflags = v.getUint32(0, true);
  return {
    xflags,
    extsize: v.getUint32(4, true),
    nextents: v.getUint32(8, true),
    projid: v.getUint32(12, true),
    daxFlag: (xflags & C.FS_XFLAG_DAX) !== 0,
  };
}

/** The fields of `struct statx` pmemctl reads. */
export interface Statx {
  mask: number;
  blksize: number;
  attributes: bigint;
  attributesMask: bigint;
  mode: number;
  size: number;
  /** `STATX_ATTR_DAX` is set: the file's mappings bypass the page cache. */
  dax: boolean;
  /** The inode number (with devMajor/devMinor: the file's identity). */
  ino: number;
  rdevMajor: number;
  rdevMinor: number;
  devMajor: number;
  devMinor: number;
  isFile: boolean;
  isDirectory: boolean;
  isBlockDevice: boolean;
  isCharDevice: boolean;
}

function decodeStatx(raw: Uint8Array<ArrayBuffer>): Statx {
  const v = new DataView(raw.buffer);
  const attributes = v.getBigUint64(8, true);
  const mode = v.getUint16(28, true);
  const type = mode & C.S_IFMT;
  return {
    mask: v.getUint32(0, true),
    blksize: v.getUint32(4, true),
    attributes,
    attributesMask: v.getBigUint64(56, true),
    mode,
    size: Number(v.getBigUint64(40, true)),
    dax: (attributes & BigInt(C.STATX_ATTR_DAX)) !== 0n,
    ino: Number(v.getBigUint64(32, true)),
    rdevMajor: v.getUint32(128, true),
    rdevMinor: v.getUint32(132, true),
    devMajor: v.getUint32(136, true),
    devMinor: v.getUint32(140, true),
    isFile: type === C.S_IFREG,
    isDirectory: type === C.S_IFDIR,
    isBlockDevice: type === C.S_IFBLK,
    isCharDevice: type === C.S_IFCHR,
  };
}

/** `statx(2)` of `name` relative to `dirfd` with `flags`; `path` names it in errors. */
function statxAt(
  dirfd: number,
  name: string,
  flags: number,
  path: string,
): Statx {
  const raw = new Uint8Array(C.STATX_SIZE);
  const c = cString(name);
  settled(
    "statx",
    path,
    () =>
      libc().statx(dirfd, c, flags, C.STATX_BASIC_STATS, raw) === 0
        ? raw
        : undefined,
  );
  return decodeStatx(raw);
}

/** `statx(2)` of a path (following links). */
export function statx(path: string): Statx {
  return statxAt(C.AT_FDCWD, path, 0, path);
}

/** `statx(2)` of an open descriptor (`AT_EMPTY_PATH`). */
export function fstatx(fd: number, path: string): Statx {
  return statxAt(fd, "", C.AT_EMPTY_PATH, path);
}

/**
 * Runs a read/write-like call until it is not interrupted (EINTR); returns
 * its byte count. With `waitEagain`, EAGAIN is waited out too, a
 * millisecond at a time: a pipe or terminal that another process made
 * non-blocking (O_NONBLOCK lives on the open file both share) is waited
 * for as if it blocked.
 */
function retryEintr(
  call: string,
  path: string,
  attempt: () => number | bigint,
  waitEagain = false,
): number {
  for (;;) {
    const n = Number(attempt());
    if (n >= 0) return n;
    const code = errno();
    if (waitEagain && code === Errno.EAGAIN) sleepSync(1);
    else if (code !== Errno.EINTR) throw new OsError(call, path, code);
  }
}

/** One `pread`/`pwrite` call, retried on EINTR; returns the byte count. */
function transfer(
  call: "pread" | "pwrite",
  fd: number,
  buf: Uint8Array,
  offset: number,
  path: string,
): number {
  const fn = libc()[call];
  return retryEintr(
    call,
    path,
    () =>
      fn(
        fd,
        Deno.UnsafePointer.of(buf),
        BigInt(buf.byteLength),
        BigInt(offset),
      ),
  );
}

/** `pread(2)` into `buf`; returns the byte count (0 at end of file). Retries EINTR. */
export function pread(
  fd: number,
  buf: Uint8Array,
  offset: number,
  path: string,
): number {
  return transfer("pread", fd, buf, offset, path);
}

/** `pwrite(2)` from `buf`; returns the byte count. Retries EINTR. */
export function pwrite(
  fd: number,
  buf: Uint8Array,
  offset: number,
  path: string,
): number {
  return transfer("pwrite", fd, buf, offset, path);
}

/**
 * `pread(2)`/`pwrite(2)` until all of `buf` is moved or a call moves
 * nothing: the bytes moved. Callers say what a short count means.
 */
function transferFull(
  call: "pread" | "pwrite",
  fd: number,
  buf: Uint8Array,
  offset: number,
  path: string,
): number {
  let at = 0;
  while (at < buf.length) {
    const n = transfer(call, fd, buf.subarray(at), offset + at, path);
    if (n === 0) break;
    at += n;
  }
  return at;
}

/**
 * `pread(2)` until `buf` is full or the file ends: the bytes read, fewer
 * than `buf.length` only at the end. Callers say what a short read means.
 */
export function preadFull(
  fd: number,
  buf: Uint8Array,
  offset: number,
  path: string,
): number {
  return transferFull("pread", fd, buf, offset, path);
}

/**
 * `pwrite(2)` until all of `buf` is written or a call writes nothing: the
 * bytes written, fewer than `buf.length` only when no more would go.
 */
export function pwriteFull(
  fd: number,
  buf: Uint8Array,
  offset: number,
  path: string,
): number {
  return transferFull("pwrite", fd, buf, offset, path);
}

/** The whole kernel ring buffer through `klogctl(SYSLOG_ACTION_READ_ALL)`. */
export function klogReadAll(): string {
  const size = libc().klogctl(C.SYSLOG_ACTION_SIZE_BUFFER, null, 0);
  if (size < 0) fail("klogctl", "SYSLOG_ACTION_SIZE_BUFFER");
  const buf = new Uint8Array(Math.max(size, 4096));
  const n = libc().klogctl(C.SYSLOG_ACTION_READ_ALL, buf, buf.byteLength);
  if (n < 0) fail("klogctl", "SYSLOG_ACTION_READ_ALL");
  return new TextDecoder().decode(buf.subarray(0, n));
}

/**
 * Every record /dev/kmsg still holds, as `prio,seq,usec,flags;message`
 * lines. Read without blocking; records overwritten while reading (EPIPE)
 * are skipped.
 */
export function kmsgReadAll(path = "/dev/kmsg"): string {
  const fd = open(path, C.O_RDONLY | C.O_NONBLOCK);
  try {
    const buf = new Uint8Array(8192);
    const records: string[] = [];
    const decoder = new TextDecoder();
    for (;;) {
      const n = Number(
        libc().read(fd, Deno.UnsafePointer.of(buf), BigInt(buf.byteLength)),
      );
      if (n > 0) {
        records.push(decoder.decode(buf.subarray(0, n)));
        continue;
      }
      if (n === 0) break;
      const code = errno();
      if (code === Errno.EAGAIN) break;
      if (code === Errno.EPIPE || code === Errno.EINTR) continue;
      throw new OsError("read", path, code);
    }
    return records.join("");
  } finally {
    close(fd, path);
  }
}

/** `read(2)` into `length` bytes at `ptr`; returns the byte count (0 at end). Retries EINTR, waits out EAGAIN. */
export function readInto(
  fd: number,
  ptr: Deno.PointerObject,
  length: number,
  path: string,
): number {
  return retryEintr(
    "read",
    path,
    () => libc().read(fd, ptr, BigInt(length)),
    true,
  );
}

/** `write(2)` of `length` bytes at `ptr`; returns the byte count. Retries EINTR, waits out EAGAIN. */
export function writeFrom(
  fd: number,
  ptr: Deno.PointerObject,
  length: number,
  path: string,
): number {
  return retryEintr(
    "write",
    path,
    () => libc().write(fd, ptr, BigInt(length)),
    true,
  );
}

/** `lseek(2)`; returns the new offset. ESPIPE for pipes and terminals. */
export function lseek(
  fd: number,
  offset: number,
  whence: number,
  path: string,
): number {
  const at = libc().lseek(fd, BigInt(offset), whence);
  if (at < 0n) fail("lseek", path);
  return Number(at);
}

/** `memcpy(3)` of `length` bytes between two places the caller owns (mapped memory). */
export function copyMemory(
  dest: Deno.PointerObject,
  src: Deno.PointerObject,
  length: number,
): void {
  if (length > 0) libc().memcpy(dest, src, BigInt(length));
}

/**
 * `flock(2)` without blocking: true when the lock is taken, false when
 * another open file description holds a conflicting one (EWOULDBLOCK).
 */
export function flock(fd: number, path: string, exclusive: boolean): boolean {
  const op = (exclusive ? C.LOCK_EX : C.LOCK_SH) | C.LOCK_NB;
  for (;;) {
    if (libc().flock(fd, op) === 0) return true;
    const code = errno();
    if (code === Errno.EAGAIN) return false;
    if (code !== Errno.EINTR) throw new OsError("flock", path, code);
  }
}

/**
 * `fallocate(2)`: with mode 0, gives `[offset, offset+length)` of a file
 * its blocks now, so later stores through a mapping cannot hit a full
 * filesystem (ENOSPC here instead of SIGBUS there); other modes as the
 * kernel defines them (`FALLOC_FL_*`). Throws OsError.
 */
export function fallocate(
  fd: number,
  path: string,
  offset: number,
  length: number,
  mode = 0,
): void {
  for (;;) {
    if (libc().fallocate(fd, mode, BigInt(offset), BigInt(length)) === 0) {
      return;
    }
    const code = errno();
    if (code !== Errno.EINTR) throw new OsError("fallocate", path, code);
  }
}

/**
 * The holes (unallocated ranges) of `[offset, offset+length)` of a file,
 * from `lseek(SEEK_HOLE/SEEK_DATA)`; [] where the filesystem cannot say.
 */
export function holes(
  fd: number,
  offset: number,
  length: number,
): [number, number][] {
  const out: [number, number][] = [];
  const end = offset + length;
  const seek = (at: number, whence: number): number | undefined => {
    const r = libc().lseek(fd, BigInt(at), whence);
    return r < 0n ? undefined : Number(r);
  };
  for (let at = offset; at < end;) {
    const hole = seek(at, C.SEEK_HOLE);
    if (hole === undefined || hole >= end) break;
    const data = seek(hole, C.SEEK_DATA) ?? end;
    out.push([hole, Math.min(data, end)]);
    at = data;
  }
  return out;
}

/** Private anonymous read-write memory (`mmap`), or null when refused; errno says why. */
export function mmapAnonymous(length: number): Deno.PointerObject | null {
  const ptr = libc().mmap(
    null,
    BigInt(length),
    C.PROT_READ | C.PROT_WRITE,
    C.MAP_PRIVATE | C.MAP_ANONYMOUS,
    -1,
    0n,
  );
  return ptr === null || Deno.UnsafePointer.value(ptr) === C.MAP_FAILED
    ? null
    : ptr;
}

/** `fsync(2)`. */
export function fsync(fd: number, path: string): void {
  if (libc().fsync(fd) !== 0) fail("fsync", path);
}

/** `fdatasync(2)`: the data (and the size) reach the device. */
export function fdatasync(fd: number, path: string): void {
  if (libc().fdatasync(fd) !== 0) fail("fdatasync", path);
}

/** Drops the page cache of `[offset, offset+length)` of `fd` (length 0: to the end). */
export function dropCache(
  fd: number,
  path: string,
  offset = 0,
  length = 0,
): void {
  // posix_fadvise returns the error number instead of setting errno.
  const rc = libc().posix_fadvise(
    fd,
    BigInt(offset),
    BigInt(length),
    C.POSIX_FADV_DONTNEED,
  );
  if (rc !== 0) throw new OsError("posix_fadvise", path, rc);
}
