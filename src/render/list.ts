/**
 * `pmemctl list`'s table, for people (its JSON document is in json.ts).
 * A pure function of the result.
 *
 * @module
 */

import { escapeField } from "../parse/numbers.ts";
import { E820_SOFT_RESERVED } from "../parse/e820_types.ts";
import { hex, sizeText } from "../units.ts";
import type { CxlView } from "../sysfs/cxl.ts";
import type { ListNamespace, ListRegion, ListResult } from "../list/join.ts";

function namespaceText(n: ListNamespace): string {
  const parts = [n.dev, n.mode + (n.map ? `/${n.map}` : ""), sizeText(n.size)];
  if (n.blockdev) parts.push(n.blockdev);
  if (n.chardev) parts.push(n.chardev);
  if (n.daxdev?.mode === "system-ram") {
    const d = n.daxdev;
    parts.push(
      `system-ram (kmem${
        d.total_memblocks !== undefined
          ? `, ${d.online_memblocks}/${d.total_memblocks} blocks online${
            d.movable ? ", movable" : ""
          }`
          : ""
      }, node ${d.target_node ?? "?"})`,
    );
  } else if (n.dax) parts.push("dax");
  if (n.badblock_count > 0) parts.push(`badblocks=${n.badblock_count}`);
  if (n.content) {
    parts.push(
      `holds ${n.content}${
        n.stamp ? ` (seed ${n.stamp.seed}, ${n.stamp.time})` : ""
      }${n.pool ? ` (${n.pool})` : ""}`,
    );
  }
  const on = (m: { path: string; fstype: string; dax: string | null }) =>
    `on ${escapeField(m.path)} (${escapeField(m.fstype)}${
      m.dax ? `, dax=${m.dax}` : ""
    })`;
  for (const m of n.mounts ?? []) parts.push(on(m));
  for (const p of n.partitions ?? []) {
    parts.push(
      `[${
        [
          p.name,
          sizeText(p.size),
          ...(p.content ? [`holds ${p.content}`] : []),
          ...p.mounts.map(on),
        ].join(" ")
      }]`,
    );
  }
  return parts.join(" ");
}

function rows(r: ListRegion): string[][] {
  const first = [
    r.start === null ? "?" : hex(r.start),
    r.end === null ? "?" : hex(r.end),
    sizeText(r.size),
    r.e820_type === null
      ? "-"
      : r.e820_type === E820_SOFT_RESERVED
      ? "soft"
      : String(r.e820_type),
    `${r.provider ?? "-"}${r.persistent ? "" : " (not persistent)"}`,
    r.claimed_by ?? "-",
    r.sources.join(","),
  ];
  const namespaces = r.namespaces.length > 0
    ? r.namespaces.map(namespaceText)
    : ["-"];
  return namespaces.map((
    ns,
    i,
  ) => [...(i === 0 ? first : first.map(() => "")), ns]);
}

/** A row for each memdev's persistent capacity that no CXL region uses yet. */
function freeCxlRows(cxl: CxlView | undefined): string[][] {
  return (cxl?.memdevs ?? []).filter((m) => m.pmem_free > 0).map((m) => [
    "-",
    "-",
    sizeText(m.pmem_free),
    "-",
    "CXL",
    "-",
    "cxl",
    `${m.memdev}: persistent capacity in no region (pmemctl plan cxl)`,
  ]);
}

/** The table `pmemctl list` prints by default. */
export function listTable(result: ListResult): string {
  const header = [
    "START",
    "END",
    "SIZE",
    "TYPE",
    "PROVIDER",
    "CLAIMED BY",
    "SOURCES",
    "NAMESPACES",
  ];
  const body = [...result.regions.flatMap(rows), ...freeCxlRows(result.cxl)];
  if (body.length === 0) return "no persistent memory found\n";
  const all = [header, ...body];
  const widths = header.map((_, i) =>
    Math.max(...all.map((row) => row[i].length))
  );
  return all.map((row) =>
    row.map((cell, i) => i === row.length - 1 ? cell : cell.padEnd(widths[i]))
      .join("  ").trimEnd()
  )
    .join("\n") + "\n";
}
