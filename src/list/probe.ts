/**
 * `list --probe`: what sits at the start of each namespace's device, so a
 * fleet can tell the same data apart from a renamed device. Reads the first
 * 4 KiB only (a mapping of one alignment unit for device-DAX, which has no
 * read(2)); classifying them is a pure function.
 *
 * @module
 */

import { detectSignature } from "../target/signature.ts";
import { decodeStamp } from "../verify/stamp.ts";

/** Bytes probed at the start of each device. */
export const PROBE_BYTES = 4096;

/** What the first bytes say. */
export interface ProbeResult {
  /** `ext4`, `xfs` (or another filesystem blkid knows), `gpt`, `pmemctl-stamp`, `pmdk-pool`, `empty`, `unknown`; `unreadable` with `error`. */
  content: string;
  /** A pmemctl stamp's seed, when (ISO time), range offset and length. */
  stamp?: { seed: number; time: string; offset: number; length: number };
  /** A PMDK pool's layout: `obj`, `blk` or `log`. */
  pool?: string;
  error?: string;
}

const POOLS: [string, string][] = [
  ["PMEMOBJ\0", "obj"],
  ["PMEMBLK\0", "blk"],
  ["PMEMLOG\0", "log"],
];

/** Classifies the first bytes of a device of `size` bytes (pure). */
export function classifyHead(
  head: Uint8Array,
  size: number,
  now = Date.now(),
): ProbeResult {
  const text = (at: number, n: number) =>
    String.fromCharCode(...head.subarray(at, at + n));
  const stamp = decodeStamp(head, 0, size, now);
  if ("stamp" in stamp) {
    const s = stamp.stamp;
    return {
      content: "pmemctl-stamp",
      stamp: {
        seed: s.seed,
        time: new Date(s.time).toISOString(),
        offset: s.offset,
        length: s.length,
      },
    };
  }
  for (const [magic, pool] of POOLS) {
    if (text(0, 8) === magic) return { content: "pmdk-pool", pool };
  }
  const fs = detectSignature(head);
  if (fs) return { content: fs === "ext2/3/4" ? "ext4" : fs };
  if (text(512, 8) === "EFI PART") return { content: "gpt" };
  if (head.every((b) => b === 0)) return { content: "empty" };
  return { content: "unknown" };
}

/** Reads the first {@link PROBE_BYTES} of a block device, or of a device-DAX through a mapping of `align` bytes. */
export async function probeDevice(
  path: string,
  kind: "block" | "char",
  size: number,
  align = 2 * 2 ** 20,
): Promise<ProbeResult> {
  try {
    let head: Uint8Array;
    if (kind === "block") {
      using f = Deno.openSync(path, { read: true });
      head = new Uint8Array(PROBE_BYTES);
      let got = 0;
      while (got < PROBE_BYTES) {
        const n = f.readSync(head.subarray(got));
        if (!n) break;
        got += n;
      }
      head = head.subarray(0, got);
    } else {
      const { constants: C, FileHandle, Mapping } = await import(
        "../../ffi/mod.ts"
      );
      const file = new FileHandle(path, C.O_RDONLY);
      try {
        using m = Mapping.map(file.fd, path, {
          length: Math.min(Math.max(align, PROBE_BYTES), size),
          fault: {
            prefix: `pmemctl: list --probe ${path}: `,
            reason: "reading its first page failed (a bad block?)",
          },
        });
        head = m.bytes(0, PROBE_BYTES).slice();
      } finally {
        file.close();
      }
    }
    return classifyHead(head, size);
  } catch (e) {
    return {
      content: "unreadable",
      error: (e as Error).message.split("\n")[0],
    };
  }
}
