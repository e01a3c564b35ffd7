/**
 * `kmod status` as text: each module, then each type-12 range and its holder.
 *
 * @module
 */

import { escapeControls } from "../parse/numbers.ts";
import { hex } from "../units.ts";
import type { KmodStatus } from "./kmod.ts";

/** `kmod status` as text: each module, then each type-12 range and its holder. */
export function statusText(status: KmodStatus): string {
  const lines = status.modules.map((m) => {
    const users = m.loaded && m.used_by.length > 0
      ? ` (used by ${m.used_by.join(", ")})`
      : "";
    return `${m.name.padEnd(12)} ${m.loaded ? "loaded" : "-"}${users}`;
  });
  for (const r of status.ranges) {
    lines.push(
      `${hex(r.start)}-${hex(r.end)} type 12: ${r.claimed_by ?? "unclaimed"}`,
    );
  }
  if (status.ranges.length === 0) lines.push("no type-12 range");
  return escapeControls(lines.join("\n") + "\n");
}
