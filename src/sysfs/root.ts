/**
 * A read-only view of `/` or of a captured tree (`--root DIR`): the same
 * reads, relative symlinks resolved inside the tree, and missing or refused
 * files reported as absent instead of thrown.
 *
 * @module
 */

import { excerpt } from "../parse/numbers.ts";
import { CAPS, readCapped, TooLargeError } from "../safety/bounded.ts";

/** Where pmemctl reads proc/, sys/ and dev/ from. */
export class SystemRoot {
  /** Paths that exist but could not be read (permission). */
  readonly denied = new Set<string>();
  /** Attributes whose numbers were impossible (negative, past 2^53), with why. */
  readonly warnings: string[] = [];

  /** `root` is `/` for the live system, or a captured tree. */
  constructor(readonly root = "/") {}

  /** The host path of `path` (absolute inside the root). */
  hostPath(path: string): string {
    return this.root === "/" ? path : `${this.root.replace(/\/+$/, "")}${path}`;
  }

  /**
   * A file's text, or undefined when it is absent or unreadable; read up to
   * `cap` bytes (more is exit 2, naming the file).
   */
  text(path: string, cap: number = CAPS.text): string | undefined {
    try {
      return readCapped(this.hostPath(path), cap);
    } catch (e) {
      if (e instanceof TooLargeError) throw e;
      if (e instanceof Deno.errors.PermissionDenied) this.denied.add(path);
      return undefined;
    }
  }

  /** A sysfs attribute: its text without the trailing newline, or undefined. */
  attr(path: string): string | undefined {
    return this.text(path)?.replace(/\n$/, "");
  }

  /**
   * A numeric attribute (decimal or 0x hex), or undefined. Sizes, addresses
   * and counts cannot be negative or past 2^53: such a value is undefined,
   * with a line in {@link SystemRoot.warnings}.
   */
  number(path: string): number | undefined {
    const text = this.attr(path)?.trim();
    if (text === undefined || text === "") return undefined;
    const value = /^0x/i.test(text) ? parseInt(text, 16) : Number(text);
    if (!Number.isFinite(value)) return undefined;
    if (!Number.isSafeInteger(value) || value < 0) {
      this.warnings.push(
        `${path} holds ${
          excerpt(text, 40)
        }, which is not a possible size or address: ignored`,
      );
      return undefined;
    }
    return value;
  }

  /** The names in a directory (links included), sorted; [] when absent. */
  list(path: string): string[] {
    try {
      return [...Deno.readDirSync(this.hostPath(path))].map((e) => e.name).sort(
        naturalCompare,
      );
    } catch {
      return [];
    }
  }

  /** Whether `path` exists (following links). */
  exists(path: string): boolean {
    try {
      Deno.statSync(this.hostPath(path));
      return true;
    } catch {
      return false;
    }
  }

  /** The target's last path component of a symlink (`driver` → `nd_pmem`), or undefined. */
  linkName(path: string): string | undefined {
    try {
      return Deno.readLinkSync(this.hostPath(path)).split("/").pop();
    } catch {
      return undefined;
    }
  }

  /** `path` with every link resolved, as a path inside the root; undefined when absent. */
  realPath(path: string): string | undefined {
    try {
      const real = Deno.realPathSync(this.hostPath(path));
      if (this.root === "/") return real;
      const base = Deno.realPathSync(this.root);
      return real.startsWith(base) ? real.slice(base.length) || "/" : undefined;
    } catch {
      return undefined;
    }
  }
}

/**
 * Orders `region2` before `region10`: runs of digits compare as numbers.
 * (Not `localeCompare`, whose first call loads ICU data: ~12 ms.)
 */
export function naturalCompare(a: string, b: string): number {
  const pa = a.match(/\d+|\D+/g) ?? [];
  const pb = b.match(/\d+|\D+/g) ?? [];
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    if (pa[i] === pb[i]) continue;
    const na = Number(pa[i]);
    const nb = Number(pb[i]);
    if (/^\d/.test(pa[i]) && /^\d/.test(pb[i]) && na !== nb) return na - nb;
    return pa[i] < pb[i] ? -1 : 1;
  }
  return pa.length - pb.length;
}
