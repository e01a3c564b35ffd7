/**
 * The facts as an Ansible local fact (`/etc/ansible/facts.d/pmem.fact`):
 * one JSON document, read by the setup module as `ansible_local.pmem`.
 *
 * @module
 */

import type { PmemFacts } from "./facts.ts";

/** The fact document (pure): the facts, with the namespace modes present listed. */
export function renderAnsible(f: PmemFacts): string {
  const modes = [...new Set(f.namespaces.map((n) => n.mode))].sort();
  return JSON.stringify({ ...f, modes }, null, 2) + "\n";
}
