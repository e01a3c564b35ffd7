/**
 * Linux errno numbers and their symbolic names (asm-generic/errno-base.h,
 * asm-generic/errno.h).
 *
 * @module
 */

const names: Record<number, string> = {
  1: "EPERM",
  2: "ENOENT",
  3: "ESRCH",
  4: "EINTR",
  5: "EIO",
  6: "ENXIO",
  7: "E2BIG",
  8: "ENOEXEC",
  9: "EBADF",
  10: "ECHILD",
  11: "EAGAIN",
  12: "ENOMEM",
  13: "EACCES",
  14: "EFAULT",
  15: "ENOTBLK",
  16: "EBUSY",
  17: "EEXIST",
  18: "EXDEV",
  19: "ENODEV",
  20: "ENOTDIR",
  21: "EISDIR",
  22: "EINVAL",
  23: "ENFILE",
  24: "EMFILE",
  25: "ENOTTY",
  26: "ETXTBSY",
  27: "EFBIG",
  28: "ENOSPC",
  29: "ESPIPE",
  30: "EROFS",
  31: "EMLINK",
  32: "EPIPE",
  34: "ERANGE",
  36: "ENAMETOOLONG",
  38: "ENOSYS",
  40: "ELOOP",
  61: "ENODATA",
  75: "EOVERFLOW",
  95: "EOPNOTSUPP",
  110: "ETIMEDOUT",
  121: "EREMOTEIO",
  122: "EDQUOT",
  133: "EHWPOISON",
};

/** Errno values pmemctl branches on. */
export const Errno = {
  EPERM: 1,
  ENOENT: 2,
  EINTR: 4,
  EIO: 5,
  ENXIO: 6,
  EBADF: 9,
  EAGAIN: 11,
  ENOMEM: 12,
  EACCES: 13,
  EBUSY: 16,
  ENODEV: 19,
  ENOTDIR: 20,
  EISDIR: 21,
  EINVAL: 22,
  ENOTTY: 25,
  ENOSPC: 28,
  EPIPE: 32,
  EROFS: 30,
  ENOSYS: 38,
  EOPNOTSUPP: 95,
  EHWPOISON: 133,
} as const;

/** The symbolic name of an errno value, e.g. `errnoName(22) === "EINVAL"`. */
export function errnoName(errno: number): string {
  return names[errno] ?? `E${errno}`;
}

/**
 * The errno of a failed call that can be repeated without effect (`open`
 * without `O_CREAT`, `statx`). Deno's runtime can overwrite errno between a
 * failed FFI call and its reading (seen in CI: `open` of a missing file read
 * back as EAGAIN), so the call is repeated until two readings in a row agree,
 * at most `tries` calls in all. `attempt` returns the call's result, or
 * `undefined` when it failed; a repeat that succeeds is returned as the value.
 */
export function settleErrno<T>(
  attempt: () => T | undefined,
  read: () => number,
  tries = 4,
): { value: T } | { errno: number } {
  let value = attempt();
  if (value !== undefined) return { value };
  let seen = read();
  for (let call = 1; call < tries; call++) {
    value = attempt();
    if (value !== undefined) return { value };
    const again = read();
    if (again === seen) return { errno: seen };
    seen = again;
  }
  return { errno: seen };
}
