/**
 * The libc symbols pmemctl calls, with their C prototypes. Variadic
 * functions (`open`, `ioctl`) are declared with the fixed arguments pmemctl
 * passes, which the x86_64 calling convention allows.
 *
 * @module
 */

export const libcSymbols = {
  /** int open(const char *path, int flags, mode_t mode); */
  open: { parameters: ["buffer", "i32", "u32"], result: "i32" },
  /** int close(int fd); */
  close: { parameters: ["i32"], result: "i32" },
  /** void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off); */
  mmap: {
    parameters: ["pointer", "usize", "i32", "i32", "i32", "i64"],
    result: "pointer",
  },
  /** int munmap(void *addr, size_t len); */
  munmap: { parameters: ["pointer", "usize"], result: "i32" },
  /** int msync(void *addr, size_t len, int flags); */
  msync: { parameters: ["pointer", "usize", "i32"], result: "i32" },
  /** int ioctl(int fd, unsigned long request, void *arg); */
  ioctl: { parameters: ["i32", "u64", "pointer"], result: "i32" },
  /** int statx(int dirfd, const char *path, int flags, unsigned mask, struct statx *buf); */
  statx: {
    parameters: ["i32", "buffer", "i32", "u32", "buffer"],
    result: "i32",
  },
  /** ssize_t pread(int fd, void *buf, size_t count, off_t offset); */
  pread: { parameters: ["i32", "pointer", "usize", "i64"], result: "isize" },
  /** ssize_t read(int fd, void *buf, size_t count); */
  read: { parameters: ["i32", "pointer", "usize"], result: "isize" },
  /** ssize_t write(int fd, const void *buf, size_t count); */
  write: { parameters: ["i32", "pointer", "usize"], result: "isize" },
  /** int posix_fadvise(int fd, off_t offset, off_t len, int advice); */
  posix_fadvise: { parameters: ["i32", "i64", "i64", "i32"], result: "i32" },
  /** int fsync(int fd); */
  fsync: { parameters: ["i32"], result: "i32" },
  /** int fdatasync(int fd); */
  fdatasync: { parameters: ["i32"], result: "i32" },
  /** ssize_t pwrite(int fd, const void *buf, size_t count, off_t offset); */
  pwrite: { parameters: ["i32", "pointer", "usize", "i64"], result: "isize" },
  /** off_t lseek(int fd, off_t offset, int whence); */
  lseek: { parameters: ["i32", "i64", "i32"], result: "i64" },
  /** void *memcpy(void *dest, const void *src, size_t n); */
  memcpy: { parameters: ["pointer", "pointer", "usize"], result: "pointer" },
  /** long sysconf(int name); */
  sysconf: { parameters: ["i32"], result: "i64" },
  /** int flock(int fd, int operation); */
  flock: { parameters: ["i32", "i32"], result: "i32" },
  /** int fallocate(int fd, int mode, off_t offset, off_t len); */
  fallocate: { parameters: ["i32", "i32", "i64", "i64"], result: "i32" },
  /** int mprotect(void *addr, size_t len, int prot); */
  mprotect: { parameters: ["pointer", "usize", "i32"], result: "i32" },
  /** int sigaction(int sig, const struct sigaction *act, struct sigaction *old); */
  sigaction: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  /** int klogctl(int type, char *buf, int len); */
  klogctl: { parameters: ["i32", "buffer", "i32"], result: "i32" },
  /** int *__errno_location(void); */
  __errno_location: { parameters: [], result: "pointer" },
  /** char *strerror(int errnum); */
  strerror: { parameters: ["i32"], result: "pointer" },
} as const satisfies Deno.ForeignLibraryInterface;

/** The loaded library's symbol table. */
export type LibcSymbols = Deno.DynamicLibrary<typeof libcSymbols>["symbols"];

/** libpmem's cache flush, used when it is installed (Debian's libpmem1). */
export const libpmemSymbols = {
  /** void pmem_persist(const void *addr, size_t len); */
  pmem_persist: { parameters: ["pointer", "usize"], result: "void" },
  /** void *pmem_memcpy_persist(void *dest, const void *src, size_t len); */
  pmem_memcpy_persist: {
    parameters: ["pointer", "pointer", "usize"],
    result: "pointer",
  },
  /** void *pmem_memset_persist(void *pmemdest, int c, size_t len); */
  pmem_memset_persist: {
    parameters: ["pointer", "i32", "usize"],
    result: "pointer",
  },
} as const satisfies Deno.ForeignLibraryInterface;
