/**
 * /proc/self/mountinfo (proc(5)): which filesystem is mounted where, from
 * which device, and with which DAX option.
 *
 * @module
 */

/** The DAX mode of a mount, as far as its options say. */
export type DaxOption = "always" | "never" | "inode";

/** One mount. */
export interface Mount {
  id: number;
  parentId: number;
  major: number;
  minor: number;
  root: string;
  mountPoint: string;
  options: string[];
  fsType: string;
  source: string;
  superOptions: string[];
  /**
   * `always` for `dax`/`dax=always`, `never`, `inode` (also the default of
   * ext4 and xfs when no option is given); null for other filesystems.
   */
  dax: DaxOption | null;
}

/** Undoes mountinfo's octal escapes (`\040` for a space): each is a byte of the UTF-8 name. */
function unescape(field: string): string {
  if (!/\\[0-7]{3}/.test(field)) return field;
  const bytes: number[] = [];
  for (const part of field.split(/(\\[0-7]{3})/)) {
    if (/^\\[0-7]{3}$/.test(part)) {
      bytes.push(parseInt(part.slice(1), 8) & 0xff);
    } else bytes.push(...new TextEncoder().encode(part));
  }
  return new TextDecoder().decode(new Uint8Array(bytes));
}

function daxOf(fsType: string, options: string[]): DaxOption | null {
  for (const o of options) {
    if (o === "dax" || o === "dax=always") return "always";
    if (o === "dax=never") return "never";
    if (o === "dax=inode") return "inode";
  }
  return fsType === "ext4" || fsType === "xfs" ? "inode" : null;
}

/** Parses mountinfo text; malformed lines are skipped. */
export function parseMountinfo(text: string): Mount[] {
  const mounts: Mount[] = [];
  for (const line of text.split("\n")) {
    const f = line.trim().split(" ");
    const dash = f.indexOf("-", 6);
    if (f.length < 10 || dash < 0 || dash + 3 >= f.length + 1) continue;
    const [major, minor] = f[2].split(":").map(Number);
    const options = f[5].split(",");
    const superOptions = (f[dash + 3] ?? "").split(",");
    const fsType = f[dash + 1];
    mounts.push({
      id: Number(f[0]),
      parentId: Number(f[1]),
      major,
      minor,
      root: unescape(f[3]),
      mountPoint: unescape(f[4]),
      options,
      fsType,
      source: unescape(f[dash + 2] ?? ""),
      superOptions,
      dax: daxOf(fsType, [...superOptions, ...options]),
    });
  }
  return mounts;
}
