/**
 * libpmem (PMDK), when installed: `pmem_persist` flushes CPU caches over a
 * range, which is what makes stores to device-DAX durable; JavaScript has
 * no instruction for it and msync does not do it there (EINVAL).
 * `pmem_memcpy_persist` and `pmem_memset_persist` store with non-temporal
 * stores, which bypass the caches, so no flush pass over the range is
 * needed afterwards.
 *
 * @module
 */

import { libpmemSymbols } from "./symbols.ts";

type Libpmem = Deno.DynamicLibrary<typeof libpmemSymbols>["symbols"];
let loaded: Libpmem | null | undefined;

/**
 * libpmem's symbols, or null when it is not installed. `PMEMCTL_LIBPMEM`
 * names another library file (as sqlite3's bindings let one name theirs);
 * the default is the system's `libpmem.so.1`.
 */
export function libpmem(): Libpmem | null {
  if (loaded !== undefined) return loaded;
  try {
    const path = Deno.env.get("PMEMCTL_LIBPMEM") || "libpmem.so.1";
    loaded = Deno.dlopen(path, libpmemSymbols).symbols;
  } catch {
    loaded = null;
  }
  return loaded;
}

/** Flushes `[ptr, ptr+length)` from the CPU caches; false when libpmem is absent. */
export function pmemPersist(ptr: Deno.PointerObject, length: number): boolean {
  const lib = libpmem();
  if (!lib) return false;
  lib.pmem_persist(ptr, BigInt(length));
  return true;
}

/**
 * Copies `length` bytes to pmem at `dest` and makes them durable (non-temporal
 * stores, then a fence). False, with nothing copied, when libpmem is absent.
 */
export function pmemCopyPersist(
  dest: Deno.PointerObject,
  src: Deno.PointerObject,
  length: number,
): boolean {
  const lib = libpmem();
  if (!lib) return false;
  lib.pmem_memcpy_persist(dest, src, BigInt(length));
  return true;
}

/**
 * Sets `length` bytes of pmem at `dest` to `byte` and makes them durable
 * (non-temporal stores, then a fence). False, with nothing set, when
 * libpmem is absent.
 */
export function pmemSetPersist(
  dest: Deno.PointerObject,
  byte: number,
  length: number,
): boolean {
  const lib = libpmem();
  if (!lib) return false;
  lib.pmem_memset_persist(dest, byte, BigInt(length));
  return true;
}
