/**
 * /sys/firmware/memmap/N/{start,end,type}: the firmware's e820 map as the
 * kernel received it (it does not include `memmap=` entries).
 *
 * @module
 */

import { e820TypeFromResourceName } from "./e820_types.ts";

/** One entry; `end` is inclusive. */
export interface FirmwareMemmapEntry {
  index: number;
  start: number;
  end: number;
  typeName: string;
  type: number | null;
}

/** Decodes the attribute texts of each /sys/firmware/memmap/N directory. */
export function parseFirmwareMemmap(
  dirs: { index: number; start: string; end: string; type: string }[],
): FirmwareMemmapEntry[] {
  return dirs
    .map((d) => ({
      index: d.index,
      start: parseInt(d.start.trim(), 16),
      end: parseInt(d.end.trim(), 16),
      typeName: d.type.trim(),
      type: e820TypeFromResourceName(d.type),
    }))
    .filter((e) => Number.isFinite(e.start) && Number.isFinite(e.end))
    .sort((a, b) => a.start - b.start);
}
