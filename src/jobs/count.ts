/**
 * How many threads `--jobs` asks for: the bound, the default, and what the
 * descriptor limit leaves room for (no thread code here: command modules
 * import it at start-up; the option itself is parsed by cli/options.ts).
 *
 * @module
 */

/** The most threads `--jobs` takes (the spec's bound). */
export const MAX_JOBS = 16;

/** `--jobs` by default: the online CPUs, at most {@link MAX_JOBS}. */
export function defaultJobs(): number {
  return Math.max(1, Math.min(MAX_JOBS, navigator.hardwareConcurrency || 1));
}

/** Descriptors a worker thread takes (Deno's event loop and its module loads), measured: about 7, with room for module loads. */
const FDS_PER_THREAD = 16;
/** Descriptors kept free for the main thread's own opens (target, locks, journal, output). */
const FDS_SPARE = 32;

/** The soft `Max open files` of /proc/self/limits (pure). */
export function openFilesLimit(limits: string): number | undefined {
  const m = limits.match(/^Max open files\s+(\d+|unlimited)\s/m);
  if (!m || m[1] === "unlimited") return undefined;
  return Number(m[1]);
}

/**
 * The threads of `asked` that the descriptor limit (`ulimit -n`) leaves
 * room for, given `open` descriptors in use: at least one. Deno panics
 * when a worker cannot get its descriptors, so a run asks first.
 */
export function threadsForDescriptors(
  asked: number,
  open: number,
  limit: number | undefined,
): number {
  if (limit === undefined) return asked;
  const room = Math.floor((limit - open - FDS_SPARE) / FDS_PER_THREAD);
  return Math.max(1, Math.min(asked, 1 + room));
}

/** {@link threadsForDescriptors} for this process; `asked` where /proc cannot say. */
export function threadsThisProcessCan(asked: number): number {
  if (asked <= 1) return asked;
  try {
    const limit = openFilesLimit(Deno.readTextFileSync("/proc/self/limits"));
    let open = 0;
    for (const _ of Deno.readDirSync("/proc/self/fd")) open++;
    return threadsForDescriptors(asked, open, limit);
  } catch {
    return asked;
  }
}
