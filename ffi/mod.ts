/**
 * libc through Deno FFI: file descriptors, ioctls, statx, klogctl and
 * shared mappings. The rest of pmemctl goes through these functions only.
 *
 * @module
 */

export * as constants from "./constants.ts";
export { Errno, errnoName } from "./errno.ts";
export {
  blkGetSize64,
  blkSszGet,
  close,
  copyMemory,
  dropCache,
  errno,
  fallocate,
  fdatasync,
  FileHandle,
  flock,
  fsGetXattr,
  fstatx,
  type FsXattr,
  fsync,
  holes,
  klogReadAll,
  kmsgReadAll,
  loopGetStatus64,
  type LoopStatus,
  lseek,
  open,
  OsError,
  pageSize,
  pread,
  preadFull,
  pwrite,
  pwriteFull,
  readInto,
  type Statx,
  statx,
  strerror,
  writeFrom,
} from "./libc.ts";
export {
  adoptFaultSlots,
  type FaultGuard,
  type FaultSlots,
  guardFaults,
  shareFaultSlots,
} from "./sigbus.ts";
export {
  libpmem,
  pmemCopyPersist,
  pmemPersist,
  pmemSetPersist,
} from "./libpmem.ts";
export {
  type MapOptions,
  Mapping,
  type MapSyncMode,
  MAX_VIEW_BYTES,
} from "./mapping.ts";
