/**
 * A read-only view of `/` or of a captured tree (`--root DIR`): the same
 * reads, relative symlinks resolved inside the tree, and missing or refused
 * files reported as absent instead of thrown.
 *
 * @module
 */

import { excerpt } from "../parse/numbers.ts";
import {
  CAPS,
  readCapped,
  readCappedBytes,
  TooLargeError,
} from "../bounded.ts";

/** Links followed in one path before it counts as a loop (the kernel's limit). */
const MAX_LINKS = 40;

/** A path resolved inside a captured tree. */
interface Resolved {
  /** Where it is on the host (no link left in it). */
  host: string;
  /** The same, as a path inside the tree. */
  inside: string;
  info: Kind;
}

/** What a lookup needs to know of a path: a directory listing's answer or lstat's. */
type Kind = Pick<Deno.FileInfo, "isFile" | "isDirectory" | "isSymlink">;

/** The eight kinds, shared: a listing's entries point at these, not at objects of their own. */
const KINDS: readonly Kind[] = Array.from(
  { length: 8 },
  (_, i) =>
    Object.freeze({
      isFile: (i & 1) !== 0,
      isDirectory: (i & 2) !== 0,
      isSymlink: (i & 4) !== 0,
    }),
);

/** `entry`'s kind, as one of {@link KINDS}. */
function kindOf(entry: Kind): Kind {
  return KINDS[
    (entry.isFile ? 1 : 0) | (entry.isDirectory ? 2 : 0) |
    (entry.isSymlink ? 4 : 0)
  ];
}

/**
 * Where pmemctl reads proc/, sys/ and dev/ from: `/`, or a captured tree
 * (`--root DIR`). A captured tree is untrusted input and a jail: every path
 * is resolved inside it the way a chroot would (an absolute link target is
 * taken relative to the tree), a link that climbs above the tree or loops is
 * not followed, and only regular files and directories are read. What is
 * refused counts as missing, with a warning naming the path inside the tree.
 */
export class SystemRoot {
  /** Paths that exist but could not be read (permission). */
  readonly denied: Set<string> = new Set<string>();
  /** What was left out and why: impossible numbers, links out of the tree, non-regular files. */
  readonly warnings: string[] = [];
  /** The tree's real path, for a captured tree. */
  readonly #tree: string | undefined;
  /**
   * Host paths lstat found missing in directories that cannot be listed:
   * not looked up again (each failed lstat costs an exception).
   */
  readonly #missing = new Set<string>();
  /**
   * Each directory of the tree listed once, by host path (undefined when it
   * cannot be listed): a name is looked up in its directory's listing, so a
   * missing path costs no failed lstat and no exception. Entries point at
   * the shared {@link KINDS}, not at their DirEntry: `list` of a tree of
   * 10,000 namespaces (210,000 files) peaked at 262 MiB instead of 345.
   */
  readonly #listings = new Map<string, Map<string, Kind> | undefined>();

  /** `root` is `/` for the live system, or a captured tree. */
  constructor(readonly root = "/") {
    if (root === "/") return;
    try {
      this.#tree = Deno.realPathSync(root);
    } catch {
      this.#tree = root.replace(/\/+$/, "") || "/";
    }
  }

  #warn(text: string): void {
    if (!this.warnings.includes(text)) this.warnings.push(text);
  }

  /** The entries of a link-free directory of the tree, listed once; undefined when it cannot be listed. */
  #listing(dir: string): Map<string, Kind> | undefined {
    if (this.#listings.has(dir)) return this.#listings.get(dir);
    let listing: Map<string, Kind> | undefined = new Map();
    try {
      for (const e of Deno.readDirSync(dir)) listing.set(e.name, kindOf(e));
    } catch {
      listing = undefined; // not a directory, or not readable: lstat decides
    }
    this.#listings.set(dir, listing);
    return listing;
  }

  /**
   * Resolves `path` inside the tree, following links as a chroot would;
   * undefined when it is missing or refused (with a warning). With
   * `followLast` false, a final link is not followed.
   */
  #resolve(path: string, followLast = true): Resolved | undefined {
    const tree = this.#tree!;
    const queue = path.split("/").filter((c) => c !== "" && c !== ".");
    let inside: string[] = [];
    let links = 0;
    let info: Kind | undefined;
    while (queue.length > 0) {
      const c = queue.shift()!;
      if (c === "..") {
        if (inside.length === 0) {
          this.#warn(
            `${
              excerpt(path)
            }: a link or path leads out of ${this.root}: not read`,
          );
          return undefined;
        }
        inside.pop();
        info = undefined;
        continue;
      }
      const parent = inside.length ? `${tree}/${inside.join("/")}` : tree;
      const next = [...inside, c];
      const host = `${parent}/${c}`;
      const listing = this.#listing(parent);
      if (listing) {
        info = listing.get(c);
        if (info === undefined) return undefined;
      } else {
        if (this.#missing.has(host)) return undefined;
        try {
          info = Deno.lstatSync(host);
        } catch (e) {
          if (e instanceof Deno.errors.PermissionDenied) this.denied.add(path);
          else if (e instanceof Deno.errors.NotFound) this.#missing.add(host);
          return undefined;
        }
      }
      if (info.isSymlink && (queue.length > 0 || followLast)) {
        if (++links > MAX_LINKS) {
          this.#warn(
            `${excerpt(path)}: a loop of links in ${this.root}: not read`,
          );
          return undefined;
        }
        const target = Deno.readLinkSync(host);
        if (target.startsWith("/")) inside = [];
        queue.unshift(
          ...target.split("/").filter((t) => t !== "" && t !== "."),
        );
        info = undefined;
        continue;
      }
      inside = next;
    }
    const host = inside.length ? `${tree}/${inside.join("/")}` : tree;
    try {
      info ??= Deno.lstatSync(host);
    } catch {
      return undefined;
    }
    return { host, inside: `/${inside.join("/")}`, info };
  }

  /** A regular file's host path, or undefined (missing, refused, or not a regular file). */
  #file(path: string): string | undefined {
    if (this.root === "/") return path;
    const r = this.#resolve(path);
    if (!r) return undefined;
    if (!r.info.isFile) {
      this.#warn(
        `${excerpt(path)} in ${this.root} is not a regular file: not read`,
      );
      return undefined;
    }
    return r.host;
  }

  /**
   * A regular file's bytes (a compressed `/proc/config.gz`), or undefined
   * when it is absent, refused, or larger than `cap`.
   */
  bytes(path: string, cap: number = CAPS.text): Uint8Array | undefined {
    const host = this.#file(path);
    if (host === undefined) return undefined;
    try {
      return readCappedBytes(host, cap);
    } catch (e) {
      if (e instanceof Deno.errors.PermissionDenied) this.denied.add(path);
      return undefined; // absent, refused, or past the cap
    }
  }

  /**
   * A file's text, or undefined when it is absent or unreadable; read up to
   * `cap` bytes (more is exit 2, naming the file).
   */
  text(path: string, cap: number = CAPS.text): string | undefined {
    const host = this.#file(path);
    if (host === undefined) return undefined;
    try {
      return readCapped(host, cap);
    } catch (e) {
      if (e instanceof TooLargeError) {
        throw new TooLargeError(
          this.root === "/" ? path : `${this.root}${path}`,
          e.why,
        );
      }
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
    let host: string | undefined = path;
    if (this.root !== "/") {
      const r = this.#resolve(path);
      host = r?.info.isDirectory ? r.host : undefined;
    }
    if (host === undefined) return [];
    try {
      return [...Deno.readDirSync(host)].map((e) => e.name).sort(
        naturalCompare,
      );
    } catch {
      return [];
    }
  }

  /** Whether `path` exists (following links; inside the tree for a captured one). */
  exists(path: string): boolean {
    if (this.root !== "/") return this.#resolve(path) !== undefined;
    try {
      Deno.statSync(path);
      return true;
    } catch {
      return false;
    }
  }

  /** The target's last path component of a symlink (`driver` → `nd_pmem`), or undefined. */
  linkName(path: string): string | undefined {
    try {
      if (this.root === "/") return Deno.readLinkSync(path).split("/").pop();
      const r = this.#resolve(path, false);
      return r?.info.isSymlink
        ? Deno.readLinkSync(r.host).split("/").pop()
        : undefined;
    } catch {
      return undefined;
    }
  }

  /** `path` with every link resolved, as a path inside the root; undefined when absent. */
  realPath(path: string): string | undefined {
    if (this.root !== "/") return this.#resolve(path)?.inside;
    try {
      return Deno.realPathSync(path);
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
