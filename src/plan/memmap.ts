/**
 * `pmemctl plan memmap`: choosing `memmap=SIZE!START` from the machine's own
 * e820 table (pure). Each proposed range lies wholly inside one usable-RAM
 * entry (never across a hole), aligned (128 MiB by default: a memory
 * section), above 4 GiB unless the machine has no RAM there, away from the
 * kernel image, the initrd and a crashkernel reservation, and leaves the
 * system the RAM it asks for.
 *
 * @module
 */

import type { E820Entry } from "../parse/e820.ts";
import { kernelLogLines } from "../parse/klog.ts";
import { amount, hex } from "../units.ts";

const GiB = 2 ** 30;
const FOUR_GIB = 4 * GiB;

/** A range pmem must keep away from, and why. */
export interface Avoid {
  start: number;
  /** Inclusive. */
  end: number;
  why: string;
}

/** What to plan. */
export interface PlanRequest {
  size: number;
  count: number;
  align: number;
  /** Where the first range must start (the rest follow it). */
  start?: number;
  /** RAM the system keeps; default the larger of 2 GiB and a quarter of RAM. */
  keep?: number;
}

/** A plan: the ranges, the kernel parameter in each tool's spelling, and the cost. */
export interface MemmapPlan {
  ranges: { start: number; size: number }[];
  param: string;
  grub: string;
  grubby: string;
  ram_total: number;
  ram_left: number;
  struct_page_bytes: number;
  /** What the ranges keep clear of: the kernel image, the initrd, crashkernel. */
  avoided: Avoid[];
  warnings: string[];
}

/** The memparse spelling of a byte count: the largest unit that divides it. */
export function memparseText(n: number): string {
  for (
    const [unit, size] of [["T", 2 ** 40], ["G", GiB], ["M", 2 ** 20], [
      "K",
      1024,
    ]] as const
  ) {
    if (n > 0 && n % size === 0) return `${n / size}${unit}`;
  }
  return String(n);
}

/** The kernel image, initrd and crashkernel ranges a log and /proc/iomem name. */
export function rangesToAvoid(
  log: string | undefined,
  iomemKernel: { start: number; end: number; name: string }[],
): Avoid[] {
  const out: Avoid[] = iomemKernel.map((r) => ({
    start: r.start,
    end: r.end,
    why: r.name === "Crash kernel"
      ? "the crashkernel reservation"
      : r.name.toLowerCase(),
  }));
  for (const line of kernelLogLines(log ?? "", /RAMDISK|crashkernel/i)) {
    const ramdisk = line.match(/RAMDISK: \[mem 0x([0-9a-f]+)-0x([0-9a-f]+)\]/i);
    if (ramdisk) {
      out.push({
        start: parseInt(ramdisk[1], 16),
        end: parseInt(ramdisk[2], 16),
        why: "the initrd",
      });
    }
    const crash = line.match(
      /crashkernel reserved: 0x([0-9a-f]+) - 0x([0-9a-f]+)/i,
    );
    if (crash) {
      out.push({
        start: parseInt(crash[1], 16),
        end: parseInt(crash[2], 16) - 1,
        why: "the crashkernel reservation",
      });
    }
    const old = line.match(
      /Reserving (\d+)MB of memory at (\d+)MB for crashkernel/i,
    );
    if (old) {
      const start = Number(old[2]) * 2 ** 20;
      out.push({
        start,
        end: start + Number(old[1]) * 2 ** 20 - 1,
        why: "the crashkernel reservation",
      });
    }
  }
  // iomem's "Crash kernel" and the log's reservation are one range: once.
  return out.filter((a, i) =>
    Number.isSafeInteger(a.start) && a.end >= a.start &&
    out.findIndex((b) => b.start === a.start && b.end === a.end) === i
  );
}

const alignUp = (n: number, a: number) => Math.ceil(n / a) * a;
const alignDown = (n: number, a: number) => Math.floor(n / a) * a;

/** The parts of `[start, end]` (inclusive) outside every avoided range. */
function free(start: number, end: number, avoid: Avoid[]): [number, number][] {
  let parts: [number, number][] = [[start, end]];
  for (const a of avoid) {
    parts = parts.flatMap(([s, e]): [number, number][] => {
      if (a.end < s || a.start > e) return [[s, e]];
      const out: [number, number][] = [];
      if (a.start > s) out.push([s, a.start - 1]);
      if (a.end < e) out.push([a.end + 1, e]);
      return out;
    });
  }
  return parts;
}

/** `count` ranges of `size` from `start` on, each inside one free span; or why not. */
function placeAt(
  start0: number,
  size: number,
  count: number,
  align: number,
  spans: { start: number; end: number }[],
): { start: number; size: number }[] | { reason: string; usage?: string } {
  const ranges: { start: number; size: number }[] = [];
  for (let i = 0; i < count; i++) {
    const start = start0 + i * size;
    if (start % align !== 0) {
      return {
        reason: `${
          i === 0 ? hex(start) : `the range from ${hex(start)}`
        } is not ${memparseText(align)}-aligned`,
        usage: "--start",
      };
    }
    if (!spans.some((s) => s.start <= start && start + size <= s.end)) {
      return {
        reason: `[${hex(start)}, ${
          hex(start + size - 1)
        }] is not inside one usable-RAM entry clear of the kernel, initrd and crashkernel`,
      };
    }
    ranges.push({ start, size });
  }
  return ranges;
}

/**
 * `count` ranges of `size` from the top of the highest spans down (far from
 * the kernel image), in address order, warning when some lie below 4 GiB
 * though spans above it exist; or why they do not fit.
 */
function placeFromTop(
  pool: { start: number; end: number }[],
  spans: { start: number; end: number }[],
  anyHigh: boolean,
  size: number,
  count: number,
  align: number,
  warnings: string[],
): { start: number; size: number }[] | { reason: string } {
  const ranges: { start: number; size: number }[] = [];
  for (const span of pool) {
    let end = span.end;
    while (ranges.length < count && end - size >= span.start) {
      ranges.push({ start: end - size, size });
      end -= size;
    }
    if (ranges.length === count) break;
  }
  if (ranges.length < count) {
    const largest = spans.reduce((m, s) => Math.max(m, s.end - s.start), 0);
    return {
      reason: `only ${ranges.length} of ${count} ranges of ${
        memparseText(size)
      } fit: the largest free ${
        memparseText(align)
      }-aligned span of usable RAM is ${amount(largest)}`,
    };
  }
  ranges.sort((a, b) => a.start - b.start);
  const low = ranges.filter((r) => r.start < FOUR_GIB).length;
  if (anyHigh && low > 0) {
    warnings.push(
      `${low} of the ${count} ranges ${
        low > 1 ? "lie" : "lies"
      } below 4 GiB (not enough usable RAM above it)`,
    );
  }
  return ranges;
}

/**
 * Plans `request` over the e820 table the kernel used (`table`: usable RAM
 * is type 1). Returns the plan, or why nothing fits.
 */
export function planMemmap(
  table: E820Entry[],
  request: PlanRequest,
  avoid: Avoid[],
  existingRequests = 0,
): MemmapPlan | { reason: string; usage?: string } {
  const { size, count, align } = request;
  const usable = table.filter((e) => e.type === 1);
  const total = usable.reduce((n, e) => n + (e.end - e.start + 1), 0);
  const keep = request.keep ?? Math.max(2 * GiB, Math.ceil(total / 4));
  const warnings: string[] = [];
  if (size % align !== 0) {
    return {
      reason: `${memparseText(size)} is not a multiple of the ${
        memparseText(align)
      } alignment`,
      usage: "SIZE",
    };
  }
  if (size * count > total) {
    return {
      reason: `${count} × ${memparseText(size)} is more than the ${
        amount(total)
      } of usable RAM the e820 table lists`,
    };
  }
  if (total - size * count < keep) {
    return {
      reason: `${count} × ${memparseText(size)} would leave ${
        amount(Math.max(0, total - size * count))
      } of the ${amount(total)} of RAM, less than the ${
        amount(keep)
      } the system keeps (--keep)`,
    };
  }
  // Free, aligned spans inside single usable entries, highest first.
  const spans = usable.flatMap((e) =>
    free(e.start, e.end, avoid).map(([s, end]) => ({
      start: alignUp(s, align),
      end: alignDown(end + 1, align), // exclusive
    }))
  ).filter((s) => s.end > s.start);
  const high = spans.filter((s) => s.start >= FOUR_GIB);
  // Above 4 GiB first; what does not fit there goes below, highest first.
  const byEnd = (a: { end: number }, b: { end: number }) => b.end - a.end;
  const pool = [
    ...high.sort(byEnd),
    ...spans.filter((s) => s.start < FOUR_GIB).sort(byEnd),
  ];
  if (high.length === 0 && spans.length > 0) {
    warnings.push("no usable RAM above 4 GiB: the ranges lie below it");
  }
  const placed = request.start !== undefined
    ? placeAt(request.start, size, count, align, spans)
    : placeFromTop(pool, spans, high.length > 0, size, count, align, warnings);
  if ("reason" in placed) return placed;
  const ranges = placed;
  if (existingRequests + ranges.length > 4) {
    warnings.push(
      `${
        existingRequests + ranges.length
      } memmap= entries: the kernel's decompressor tracks at most 4 for KASLR and gives up randomising beyond that`,
    );
  }
  if (align < 128 * 2 ** 20) {
    warnings.push(
      "alignment below 128 MiB: a memory section is shared with System RAM (hot-plug and namespace trouble before Linux 5.3, and ndctl wants 128 MiB between namespaces)",
    );
  }
  const words = ranges.map((r) =>
    `memmap=${memparseText(r.size)}!${memparseText(r.start)}`
  );
  const param = words.join(" ");
  const used = ranges.reduce((n, r) => n + r.size, 0);
  return {
    ranges,
    param,
    // /etc/default/grub is sourced by sh: "!" needs no escape in double quotes.
    grub: `GRUB_CMDLINE_LINUX="$GRUB_CMDLINE_LINUX ${param}"`,
    // Single quotes keep an interactive bash from expanding "!".
    grubby: `grubby --update-kernel=ALL --args='${param}'`,
    ram_total: total,
    ram_left: total - used,
    struct_page_bytes: (used / 4096) * 64,
    avoided: avoid,
    warnings,
  };
}
