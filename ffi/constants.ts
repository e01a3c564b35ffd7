/**
 * Every Linux x86_64 constant pmemctl passes to libc, in one place.
 * Values are from the kernel's UAPI headers (asm-generic/fcntl.h,
 * asm-generic/mman-common.h, linux/fs.h, linux/stat.h, linux/syslog.h).
 *
 * @module
 */

/** `open(2)` flags. */
export const O_RDONLY = 0o0;
export const O_WRONLY = 0o1;
export const O_RDWR = 0o2;
export const O_CREAT = 0o100;
export const O_EXCL = 0o200;
export const O_TRUNC = 0o1000;
export const O_APPEND = 0o2000;
export const O_NONBLOCK = 0o4000;
export const O_DIRECT = 0o40000;
export const O_DIRECTORY = 0o200000;
export const O_CLOEXEC = 0o2000000;

/** `mmap(2)` protections and flags. */
export const PROT_NONE = 0x0;
export const PROT_READ = 0x1;
export const PROT_WRITE = 0x2;
export const PROT_EXEC = 0x4;
export const MAP_SHARED = 0x01;
export const MAP_PRIVATE = 0x02;
export const MAP_SHARED_VALIDATE = 0x03;
export const MAP_SYNC = 0x80000;
/** Fault the whole range in at mmap time instead of one page at a time. */
export const MAP_POPULATE = 0x8000;
/** `(void *)-1` as an address. */
export const MAP_FAILED = 0xffff_ffff_ffff_ffffn;

/** `msync(2)` flags. */
export const MS_ASYNC = 1;
export const MS_INVALIDATE = 2;
export const MS_SYNC = 4;

/** `posix_fadvise(2)`: drop clean cached pages, so the next read comes from the device. */
export const POSIX_FADV_DONTNEED = 4;

// lseek(2) whence
export const SEEK_SET = 0;
export const SEEK_CUR = 1;
export const SEEK_DATA = 3;
export const SEEK_HOLE = 4;

// fallocate(2) modes
export const FALLOC_FL_KEEP_SIZE = 0x01;
export const FALLOC_FL_PUNCH_HOLE = 0x02;

/** Anonymous memory for page-aligned buffers (O_DIRECT). */
export const MAP_ANONYMOUS = 0x20;

/** Block device ioctls (linux/fs.h). */
export const BLKSSZGET = 0x1268;
/** `_IOR(0x12, 114, size_t)`. */
export const BLKGETSIZE64 = 0x80081272;
/** Loop device ioctls (linux/loop.h): `struct loop_info64` is 232 bytes. */
export const LOOP_GET_STATUS64 = 0x4c05;
export const LOOP_INFO64_SIZE = 232;
/** `_IOR('X', 31, struct fsxattr)`. */
export const FS_IOC_FSGETXATTR = 0x801c581f;
/** `struct fsxattr` size in bytes. */
export const FSXATTR_SIZE = 28;
/** The per-inode DAX hint in `fsxattr.fsx_xflags` (`dax=inode`). */
export const FS_XFLAG_DAX = 0x8000;

/** statx(2) arguments and result bits. */
export const AT_FDCWD = -100;
export const AT_SYMLINK_NOFOLLOW = 0x100;
export const AT_EMPTY_PATH = 0x1000;
export const STATX_BASIC_STATS = 0x7ff;
/** Kernel 5.8+; the short-lived 0x2000 value is ignored on purpose. */
export const STATX_ATTR_DAX = 0x00200000;
/** `struct statx` size in bytes. */
export const STATX_SIZE = 256;

/** File type bits of `st_mode`. */
export const S_IFMT = 0o170000;
export const S_IFREG = 0o100000;
export const S_IFDIR = 0o040000;
export const S_IFCHR = 0o020000;
export const S_IFBLK = 0o060000;

/** klogctl(2) actions (linux/syslog.h). */
export const SYSLOG_ACTION_READ_ALL = 3;
export const SYSLOG_ACTION_SIZE_BUFFER = 10;

// flock(2)
export const LOCK_SH = 1;
export const LOCK_EX = 2;
export const LOCK_NB = 4;
export const LOCK_UN = 8;

// Signals and sigaction(2) (glibc's struct sigaction on x86_64: handler at 0,
// sa_mask at 8 (128 bytes), sa_flags at 136, sa_restorer at 144).
export const SIGBUS = 7;
export const SA_SIGINFO = 4;
export const SIGACTION_SIZE = 152;
export const SIGACTION_FLAGS_OFFSET = 136;

// sysconf(3)
export const _SC_PAGESIZE = 30;
