/**
 * `Mapping`: one `mmap(2)` of a file or device, unmapped by `using`.
 * Views handed out are detached before the memory is unmapped, so a stale
 * view reads as empty instead of crashing the process.
 *
 * @module
 */

import { SystemError, UsageError } from "./errors.ts";
import * as C from "./constants.ts";
import {
  errno,
  libc,
  mmapAnonymous,
  OsError,
  pageSize,
  settled,
} from "./libc.ts";
import { type FaultGuard, guardFaults } from "./sigbus.ts";

/**
 * The largest view pmemctl makes over mapped memory. V8 aborts the process
 * (no exception) on a buffer past 2^53 bytes, so lengths are checked first.
 */
export const MAX_VIEW_BYTES = Number.MAX_SAFE_INTEGER;

/** How to ask for `MAP_SYNC`. */
export type MapSyncMode =
  /** plain `MAP_SHARED` */
  | "off"
  /** `MAP_SHARED_VALIDATE|MAP_SYNC`, falling back to `MAP_SHARED` when refused */
  | "try"
  /** `MAP_SHARED_VALIDATE|MAP_SYNC` or an error */
  | "require";

/** Arguments of {@link Mapping.map}. */
export interface MapOptions {
  /** File offset of the mapping; must be page aligned (or device-DAX aligned). */
  offset?: number;
  /** Bytes to map; the kernel refuses 0 with EINVAL. */
  length: number;
  /** Map with `PROT_WRITE` too (the descriptor must be open read-write). */
  writable?: boolean;
  /** `MAP_SYNC` policy; default `"off"`. */
  sync?: MapSyncMode;
  /** Fault every page in now (`MAP_POPULATE`): one kernel pass instead of a fault per page. */
  populate?: boolean;
  /**
   * What to say if touching the mapping raises SIGBUS (see sigbus.ts):
   * `prefix` like `pmemctl: map zero /x: `, `reason` like `the target shrank`.
   */
  fault?: { prefix: string; reason: string };
}

function checkLength(what: string, value: number, allowZero = false): void {
  if (
    !Number.isInteger(value) || value < 0 || value > MAX_VIEW_BYTES ||
    (!allowZero && value === 0)
  ) {
    throw new UsageError(
      what,
      `must be a ${
        allowZero ? "non-negative" : "positive"
      } integer of at most 2^53-1 bytes, got ${value}`,
    );
  }
}

/** One shared mapping. Create with {@link Mapping.map}; release with `using` or {@link Mapping.close}. */
export class Mapping implements Disposable {
  #base: Deno.PointerObject | null;
  #views: ArrayBuffer[] = [];
  #guard: FaultGuard | undefined;

  private constructor(
    base: Deno.PointerObject,
    /** What was mapped, for messages. */
    readonly path: string,
    /** File offset of byte 0 of the mapping. */
    readonly offset: number,
    /** Mapped length in bytes. */
    readonly length: number,
    /** Whether the mapping is writable. */
    readonly writable: boolean,
    /** Whether `MAP_SYNC` was granted. */
    readonly mapSync: boolean,
  ) {
    this.#base = base;
  }

  /** Maps `length` bytes of `fd` at `offset` with `MAP_SHARED` (or `MAP_SYNC`, per `sync`). */
  static map(fd: number, path: string, options: MapOptions): Mapping {
    const offset = options.offset ?? 0;
    // A zero length goes to the kernel, which answers EINVAL like any caller would see.
    checkLength(`mmap ${path}: length`, options.length, true);
    checkLength(`mmap ${path}: offset`, offset, true);
    const writable = options.writable ?? false;
    const prot = C.PROT_READ | (writable ? C.PROT_WRITE : 0);
    const sync = options.sync ?? "off";
    const extra = options.populate ? C.MAP_POPULATE : 0;
    const call = (flags: number) =>
      libc().mmap(
        null,
        BigInt(options.length),
        prot,
        flags,
        fd,
        BigInt(offset),
      );
    const made = (ptr: Deno.PointerObject, mapSync: boolean) => {
      const m = new Mapping(
        ptr,
        path,
        offset,
        options.length,
        writable,
        mapSync,
      );
      if (options.fault) {
        const { prefix, reason } = options.fault;
        m.#guard = guardFaults(ptr, options.length, offset, prefix, reason);
      }
      return m;
    };
    // A refused mmap has no effect, so a failure is repeated until two errno
    // readings agree: Deno's runtime can overwrite errno before it is read
    // (seen: ENOENT after a refused MAP_SYNC). See settleErrno.
    const attempt = (name: string, flags: number) =>
      settled(name, path, () => {
        const ptr = call(flags);
        return ptr === null || Deno.UnsafePointer.value(ptr) === C.MAP_FAILED
          ? undefined
          : ptr;
      });
    if (sync !== "off") {
      let synced: Deno.PointerObject | undefined;
      try {
        synced = attempt(
          "mmap(MAP_SYNC)",
          C.MAP_SHARED_VALIDATE | C.MAP_SYNC | extra,
        );
      } catch (e) {
        // "try" falls back on any failure, whatever errno says; a real error
        // shows again on the plain mapping.
        if (sync === "require" || !(e instanceof OsError)) throw e;
      }
      if (synced) return made(synced, true);
    }
    return made(attempt("mmap", C.MAP_SHARED | extra), false);
  }

  /** Page-aligned anonymous memory (for O_DIRECT buffers), unmapped like any mapping. */
  static anonymous(length: number): Mapping {
    checkLength("anonymous mapping: length", length);
    const ptr = mmapAnonymous(length);
    if (ptr === null) throw new OsError("mmap", "anonymous memory", errno());
    return new Mapping(ptr, "anonymous memory", 0, length, true, false);
  }

  /** True until the mapping is unmapped. */
  get mapped(): boolean {
    return this.#base !== null;
  }

  #pointer(): Deno.PointerObject {
    if (this.#base === null) {
      throw new SystemError(this.path, "mapping is closed");
    }
    return this.#base;
  }

  #range(call: string, offset: number, length: number): void {
    checkLength(`${call} ${this.path}: offset`, offset, true);
    checkLength(`${call} ${this.path}: length`, length, true);
    if (offset + length > this.length) {
      throw new UsageError(
        `${call} ${this.path}`,
        `range ${offset}+${length} is past the mapping's ${this.length} bytes`,
      );
    }
  }

  /**
   * A byte view of `[offset, offset+length)` of the mapping. The view is
   * detached (reads as empty) once the mapping is closed.
   */
  bytes(offset = 0, length = this.length - offset): Uint8Array<ArrayBuffer> {
    // #range bounds the length by MAX_VIEW_BYTES before any view is made.
    this.#range("view", offset, length);
    const base = this.#pointer();
    if (length === 0) return new Uint8Array(0);
    const buffer = Deno.UnsafePointerView.getArrayBuffer(base, length, offset);
    this.#views.push(buffer);
    return new Uint8Array(buffer);
  }

  /** `msync(2)` of a range (default the whole mapping) with `MS_SYNC`. */
  sync(offset = 0, length = this.length - offset, flags = C.MS_SYNC): void {
    this.#range("msync", offset, length);
    if (length === 0) return;
    const ptr = this.#pointer();
    // msync needs a page-aligned start: widen the range down to the page.
    const page = pageSize();
    const start = offset - (offset % page);
    const rc = libc().msync(
      Deno.UnsafePointer.offset(ptr, start),
      BigInt(length + (offset - start)),
      flags,
    );
    if (rc !== 0) throw new OsError("msync", this.path, errno());
  }

  /** The address of byte `offset` of the mapping, for system calls that fill or drain it. */
  pointer(offset = 0): Deno.PointerObject {
    this.#range("pointer", offset, 0);
    return Deno.UnsafePointer.offset(this.#pointer(), offset)!;
  }

  /** Detaches every view, then unmaps. Closing twice is a no-op. */
  close(): void {
    if (this.#base === null) return;
    const base = this.#base;
    this.#base = null;
    for (const view of this.#views) {
      if (!view.detached) view.transfer(0);
    }
    this.#views = [];
    this.#guard?.release();
    if (libc().munmap(base, BigInt(this.length)) !== 0) {
      throw new OsError("munmap", this.path, errno());
    }
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
