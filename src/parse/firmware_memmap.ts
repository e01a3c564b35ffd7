/**
 * /sys/firmware/memmap/N/{start,end,type}: the firmware's e820 map as the
 * kernel received it (it does not include `memmap=` entries).
 *
 * @module
 */

import { e820TypeFromResourceName } from "./e820_types.ts";
import { excerpt, hexNumber, impossibleRange } from "./numbers.ts";

/** One entry; `end` is inclusive. */
export interface FirmwareMemmapEntry {
  index: number;
  start: number;
  end: number;
  typeName: string;
  type: number | null;
}

/**
 * Decodes the attribute texts of each /sys/firmware/memmap/N directory.
 * Entries with impossible numbers are dropped, with a line in `warnings`.
 */
export function parseFirmwareMemmap(
  dirs: { index: number; start: string; end: string; type: string }[],
  warnings: string[] = [],
): FirmwareMemmapEntry[] {
  const out: FirmwareMemmapEntry[] = [];
  for (const d of dirs) {
    const [startText, endText] = [d.start.trim(), d.end.trim()];
    const hex = /^(0x)?[0-9a-f]+$/i;
    if (!hex.test(startText) || !hex.test(endText)) continue;
    const start = hexNumber(startText.replace(/^0x/i, ""));
    const end = hexNumber(endText.replace(/^0x/i, ""));
    const bad = impossibleRange(start, end);
    if (bad || start === undefined || end === undefined) {
      warnings.push(
        `/sys/firmware/memmap/${d.index}: ${excerpt(startText)}-${
          excerpt(endText)
        } holds ${bad}: ignored`,
      );
      continue;
    }
    out.push({
      index: d.index,
      start,
      end,
      typeName: d.type.trim(),
      type: e820TypeFromResourceName(d.type),
    });
  }
  return out.sort((a, b) => a.start - b.start);
}
