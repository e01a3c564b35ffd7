/**
 * The machine's own limit, measured in the same run as a bench: one
 * thread's memset, read and memcpy over the bytes the bench moves, and
 * with a file the page cache's floor (pwrite and pread in 16 MiB windows),
 * from bench/limit.c, built here with gcc.
 *
 * @module
 */

const ROOT = new URL("../", import.meta.url).pathname;

/** Bytes per second, each the best of a few runs. */
export interface Limit {
  memset: number;
  read: number;
  memcpy: number;
  /** With a file: pwrite(2) and pread(2) through its page cache. */
  pwrite?: number;
  pread?: number;
}

/** Builds bench/limit.c into `dir`; returns a function that measures `bytes` (and a file's page cache). */
export function limitMeter(
  dir: string,
): (bytes: number, file?: string) => Limit {
  const bin = `${dir}/limit`;
  const cc = new Deno.Command("gcc", {
    args: ["-O3", "-o", bin, `${ROOT}bench/limit.c`],
  }).outputSync();
  if (!cc.success) throw new Error(new TextDecoder().decode(cc.stderr));
  return (bytes, file) => {
    const out = new Deno.Command(bin, {
      args: [String(bytes), "3", ...(file ? [file] : [])],
    }).outputSync();
    if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
    const limit: Record<string, number> = {};
    for (
      const line of new TextDecoder().decode(out.stdout).trim().split("\n")
    ) {
      const [k, v] = line.split(" ");
      limit[k] = Number(v);
    }
    return limit as unknown as Limit;
  };
}

/** `26.4 GB/s`. */
export function rate(bytesPerSecond: number): string {
  return `${(bytesPerSecond / 1e9).toFixed(1)} GB/s`;
}

/** `42%`: the limit's time as a share of the measured one (100% runs at the limit). */
export function share(limitSeconds: number, seconds: number): string {
  return `${Math.round((100 * limitSeconds) / seconds)}%`;
}
