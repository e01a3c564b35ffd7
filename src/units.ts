/**
 * Sizes and addresses as users write them and as pmemctl prints them.
 *
 * @module
 */

import { UsageError } from "./errors.ts";

const SUFFIX: Record<string, number> = {
  "": 1,
  K: 2 ** 10,
  M: 2 ** 20,
  G: 2 ** 30,
  T: 2 ** 40,
};

/**
 * Parses `4096`, `0x1000`, `4K`/`4KiB`, `1M`, `2G`, `1T` (binary units) into
 * bytes; anything else is a usage error naming `what` and the bad value.
 *
 * @example
 * ```ts
 * import { parseSize } from "./units.ts";
 * parseSize("4KiB", "--offset"); // 4096
 * ```
 */
export function parseSize(text: string, what: string): number {
  const m = text.trim().match(/^(?:0x([0-9a-f]+)|(\d+))(?:([KMGT])(?:iB)?)?$/i);
  if (!m) {
    throw new UsageError(
      what,
      `'${text}' is not a size (use 4096, 0x1000, 4K, 1M, 2G, 1T)`,
    );
  }
  const base = m[1] !== undefined ? parseInt(m[1], 16) : Number(m[2]);
  const value = base * SUFFIX[(m[3] ?? "").toUpperCase()];
  if (!Number.isSafeInteger(value)) {
    throw new UsageError(what, `'${text}' is too large`);
  }
  return value;
}

/** `0x40000000`: an address as ndctl and /proc/iomem users read it. */
export function hex(value: number): string {
  return `0x${value.toString(16)}`;
}

/**
 * A size the way `ndctl list -u` prints it: below 5000 KiB the plain number;
 * below 2 GiB `"256.00 MiB (268.44 MB)"`; above, GiB and GB. Hundredths are
 * rounded half up, in integers so that large sizes stay exact.
 */
export function humanSize(bytes: number): string | number {
  if (bytes < 5000 * 1024) return bytes;
  const b = BigInt(bytes);
  const small = bytes < 2 * 2 ** 30;
  const centiBinary = (b * 200n / (small ? 1n << 20n : 1n << 30n) + 1n) / 2n;
  const centiDecimal = (b / (small ? 5000n : 5000000n) + 1n) / 2n;
  const fmt = (centi: bigint) =>
    `${centi / 100n}.${String(centi % 100n).padStart(2, "0")}`;
  return `${fmt(centiBinary)} ${small ? "MiB" : "GiB"} (${fmt(centiDecimal)} ${
    small ? "MB" : "GB"
  })`;
}

/** A size for a sentence or a table cell: `256.00 MiB`, or `512 B` below ndctl's threshold. */
export function sizeText(n: number): string {
  const h = humanSize(n);
  return typeof h === "number" ? `${h} B` : h.replace(/ \(.*\)$/, "");
}

/** A byte count for a sentence: `1.75 GiB`, `256 MiB` (the planner's and doctor's words). */
export function amount(n: number): string {
  if (n >= 2 ** 30) return `${Number((n / 2 ** 30).toFixed(2))} GiB`;
  return `${Number((n / 2 ** 20).toFixed(2))} MiB`;
}
