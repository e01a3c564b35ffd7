/**
 * The e820 tables in a kernel log: the firmware's (`BIOS-e820:`, `Xen:`),
 * the one `memmap=` made (`user:`), and a later `modified:` one, in the
 * 3.x–6.x form (`[mem 0x…-0x…]`, end inclusive; `type 12` bare before
 * 4.1), the 2.6 form (`0000… - 0000… (usable)`, end exclusive, unnamed types
 * bare: `0000… - 0000… type 12`) and the wording of 2025 kernels
 * (`System RAM`, `device reserved`, `persistent RAM (type 12)`, `[gap …]`).
 *
 * @module
 */

import { e820TypeFromLog } from "./e820_types.ts";
import { kernelLogLines } from "./klog.ts";
import { excerpt, hexNumber, impossibleRange } from "./numbers.ts";

/** Which table an entry was printed in. */
export type E820TableName = "firmware" | "user" | "modified";

/** One e820 entry; `end` is inclusive. */
export interface E820Entry {
  table: E820TableName;
  start: number;
  end: number;
  /** The type number, or null when the text names an unknown type. */
  type: number | null;
  /** The type as the log printed it. */
  typeText: string;
}

/** What a kernel log says about e820. */
export interface E820Log {
  /** Entries of the last boot in the log, in the order printed. */
  entries: E820Entry[];
  /** How many boots' tables the log holds (a syslog can span several). */
  boots: number;
  /** Entries dropped because their numbers are impossible, with why. */
  warnings: string[];
}

const WHO = String.raw`(BIOS-[\w-]+|Xen|user|modified)`;
const MODERN = new RegExp(
  String.raw`^${WHO}:\s*\[mem\s+0x([0-9a-f]+)-0x([0-9a-f]+)\]\s*(.*)$`,
  "i",
);
const GAP = new RegExp(String.raw`^${WHO}:\s*\[gap\s`, "i");
/** The 2.6 form: the types it has names for in parentheses, every other one bare (`type 12`). */
const OLD = new RegExp(
  String
    .raw`^\s*${WHO}:\s*([0-9a-f]{8,16})\s*-\s*([0-9a-f]{8,16})\s*(?:\((.+)\)|(type\s+\d+))\s*$`,
  "i",
);
/** Every line parseE820 looks at contains one of these. */
const RELEVANT = /BIOS-|Xen:|user:|modified:|RAM map:|Linux version /;
const HEADER = /(?:BIOS-provided|user-defined|modified) physical RAM map:/;

function tableOf(who: string): E820TableName {
  const w = who.toLowerCase();
  return w === "user" ? "user" : w === "modified" ? "modified" : "firmware";
}

/** Parses the e820 tables out of kernel log text (any of the forms `kernelLogLines` accepts). */
export function parseE820(text: string): E820Log {
  let entries: E820Entry[] = [];
  const warnings: string[] = [];
  let boots = 0;
  let lastTable: E820TableName | undefined;
  for (const line of kernelLogLines(text, RELEVANT)) {
    if (
      /BIOS-provided physical RAM map:/.test(line) ||
      (/^Linux version /.test(line))
    ) {
      // A new boot starts; keep only the last one's tables.
      if (entries.length > 0 || lastTable !== undefined) {
        entries = [];
        lastTable = undefined;
      }
      continue;
    }
    if (HEADER.test(line) || GAP.test(line)) continue;
    const m = line.match(MODERN) ?? line.match(OLD);
    if (!m) continue;
    const exclusive = !MODERN.test(line);
    const table = tableOf(m[1]);
    if (table === "firmware" && lastTable !== "firmware") {
      if (lastTable !== undefined) entries = []; // a firmware table after others: new boot
      boots++;
    }
    lastTable = table;
    const start = hexNumber(m[2]);
    const last = hexNumber(m[3]);
    const end = last === undefined ? undefined : last - (exclusive ? 1 : 0);
    const bad = impossibleRange(start, end);
    if (bad || start === undefined || end === undefined) {
      warnings.push(
        `kernel log: the e820 line "${excerpt(line)}" holds ${bad}: ignored`,
      );
      continue;
    }
    const typeText = (m[4] ?? m[5]).trim();
    entries.push({
      table,
      start,
      end,
      type: e820TypeFromLog(typeText),
      typeText,
    });
  }
  return { entries, boots, warnings };
}

/**
 * The table the kernel ended up using: the last one printed (`modified`,
 * else `user`, else the firmware's).
 */
export function finalTable(log: E820Log): E820Entry[] {
  for (const name of ["modified", "user", "firmware"] as const) {
    const table = log.entries.filter((e) => e.table === name);
    if (table.length > 0) return table;
  }
  return [];
}
