/**
 * The facts as a Node Feature Discovery feature file (features.d): one
 * `name=value` per line. Names carry no namespace, so NFD puts them under
 * `feature.node.kubernetes.io/`; names and values keep to Kubernetes label
 * syntax (at most 63 characters, alphanumerics with `-`, `_`, `.` inside).
 *
 * @module
 */

import type { PmemFacts } from "./facts.ts";

/** Kubernetes' label-name and label-value syntax (name part, value). */
export const LABEL = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;

/** The feature lines (pure). */
export function renderNfd(f: PmemFacts): string {
  const modes = new Set(f.namespaces.map((n) => n.mode));
  const features: [string, string | number | boolean][] = [
    ["pmem.present", f.present],
    ["pmem.bytes", f.total_bytes],
    ["pmem.dax", f.namespaces.some((n) => n.dax)],
    ["pmem.legacy", f.regions.some((r) => r.e820_type === 12)],
    ["pmem.nfit", f.regions.some((r) => r.provider === "ACPI.NFIT")],
    ["pmem.fsdax", modes.has("fsdax")],
    ["pmem.devdax", modes.has("devdax")],
    ["pmem.namespaces", f.namespaces.length],
  ];
  return features.map(([k, v]) => `${k}=${v}`).join("\n") + "\n";
}
