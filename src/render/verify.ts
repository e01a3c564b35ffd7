/**
 * A verify report as text, for people (its JSON document is in json.ts).
 *
 * @module
 */

import { escapeField } from "../parse/numbers.ts";
import { hex } from "../units.ts";
import type { VerifyReport } from "./json.ts";

/** The report as text: one summary line, then mismatches and bad ranges. */
export function verifyText(path: string, report: VerifyReport): string {
  const rate = (report.bytes_per_second / 2 ** 20).toFixed(1);
  const lines = [
    `${report.result}: ${report.mode} of ${escapeField(path)} ${
      hex(report.offset)
    }+${report.length}: ` +
    `${report.bytes_checked} bytes checked in ${report.seconds} s (${rate} MiB/s), ` +
    `${report.mismatch_count} bytes differ`,
  ];
  if (report.reason) lines.push(`  ${escapeField(report.reason)}`);
  for (const m of report.mismatches) {
    lines.push(
      `  at ${hex(m.offset)} (${m.offset}): expected ${
        hex(m.expected)
      }, found ${hex(m.actual)}`,
    );
  }
  for (const r of report.bad_ranges) {
    lines.push(
      `  bad ${hex(r.offset)}-${
        hex(r.offset + r.length - 1)
      } (${r.length} bytes): ${r.reason}`,
    );
  }
  return lines.join("\n") + "\n";
}
