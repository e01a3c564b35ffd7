/**
 * A writer for the "newc" cpio format the kernel unpacks as an initramfs:
 * directories, regular files and symlinks, all owned by root.
 *
 * @module
 */

/** One archive member. Paths are relative, without a leading slash. */
export type CpioEntry =
  | { path: string; type: "dir"; mode?: number }
  | { path: string; type: "file"; data: Uint8Array; mode?: number }
  | { path: string; type: "symlink"; target: string };

const encoder = new TextEncoder();

function hex8(n: number): string {
  return n.toString(16).padStart(8, "0");
}

function pad4(n: number): number {
  return (4 - (n % 4)) % 4;
}

/** Encodes `entries` (and the trailer) as one newc archive. */
export function encodeCpio(entries: CpioEntry[]): Uint8Array {
  const parts: Uint8Array[] = [];
  let ino = 1;
  const member = (path: string, mode: number, data: Uint8Array) => {
    const name = encoder.encode(path + "\0");
    const fields = [
      ino++,
      mode,
      0,
      0,
      1,
      0,
      data.length,
      0,
      0,
      0,
      0,
      name.length,
      0,
    ];
    const header = encoder.encode("070701" + fields.map(hex8).join(""));
    parts.push(header, name, new Uint8Array(pad4(header.length + name.length)));
    parts.push(data, new Uint8Array(pad4(data.length)));
  };
  for (const e of entries) {
    switch (e.type) {
      case "dir":
        member(e.path, 0o040000 | (e.mode ?? 0o755), new Uint8Array(0));
        break;
      case "file":
        member(e.path, 0o100000 | (e.mode ?? 0o644), e.data);
        break;
      case "symlink":
        member(e.path, 0o120777, encoder.encode(e.target));
        break;
    }
  }
  member("TRAILER!!!", 0, new Uint8Array(0));
  const total = parts.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Every member under `dir` on the host, as `prefix/...`, skipping the top-level names in `skip`. */
export function treeEntries(
  dir: string,
  prefix: string,
  skip: Set<string>,
): CpioEntry[] {
  const out: CpioEntry[] = [{ path: prefix, type: "dir" }];
  for (
    const entry of [...Deno.readDirSync(dir)].sort((a, b) =>
      a.name < b.name ? -1 : 1
    )
  ) {
    if (skip.has(entry.name)) continue;
    const host = `${dir}/${entry.name}`;
    const path = `${prefix}/${entry.name}`;
    if (entry.isSymlink) {
      out.push({ path, type: "symlink", target: Deno.readLinkSync(host) });
    } else if (entry.isDirectory) {
      // `skip` names top-level entries only: a package's own dist/ stays.
      out.push(...treeEntries(host, path, new Set()));
    } else if (entry.isFile) {
      const mode = Deno.statSync(host).mode ?? 0o644;
      out.push({
        path,
        type: "file",
        data: Deno.readFileSync(host),
        mode: mode & 0o777,
      });
    }
  }
  return out;
}
