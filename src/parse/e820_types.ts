/**
 * e820 memory types and the names the kernel gives them in its log,
 * /sys/firmware/memmap and /proc/iomem.
 *
 * @module
 */

/** ACPI 6 persistent memory (NFIT). */
export const E820_PMEM = 7;
/** Legacy persistent memory: `memmap=nn!ss` or firmware type 12. */
export const E820_PRAM = 12;
export const E820_SOFT_RESERVED = 0xefffffff;

const LOG_NAMES: [RegExp, number][] = [
  [/^(?:usable|system ram)$/i, 1],
  [/^(?:device )?reserved$/i, 2],
  [/^acpi data$/i, 3],
  [/^acpi nvs$/i, 4],
  [/^unusable$/i, 5],
  [/^soft reserved$/i, E820_SOFT_RESERVED],
  [/^reserved[ _]kern(?:el)?$/i, 128],
];

/**
 * The type number of an e820 log type text: `usable`, `System RAM`,
 * `persistent (type 12)`, `persistent RAM (type 12)`, `type 12`, `ACPI NVS`…
 * A leading size column (`  1.5 GB`) is ignored. Null when unknown.
 */
export function e820TypeFromLog(text: string): number | null {
  const name = text.trim().replace(/^\d+(?:\.\d+)?\s*[KMGTP]i?B\s+/i, "");
  const numbered = name.match(/\btype\s+(\d+)\)?$/i);
  if (numbered) return Number(numbered[1]);
  for (const [re, type] of LOG_NAMES) if (re.test(name)) return type;
  return null;
}

const RESOURCE_NAMES: Record<string, number> = {
  "System RAM": 1,
  "Reserved": 2,
  "reserved": 2,
  "ACPI Tables": 3,
  "ACPI Non-volatile Storage": 4,
  "Unusable memory": 5,
  "Persistent Memory (legacy)": E820_PRAM,
  // Linux v4.1 called type-12 ranges this.
  "Persistent RAM": E820_PRAM,
  "Persistent Memory": E820_PMEM,
  "Soft Reserved": E820_SOFT_RESERVED,
};

/** The e820 type behind a /proc/iomem or /sys/firmware/memmap name, or null. */
export function e820TypeFromResourceName(name: string): number | null {
  return RESOURCE_NAMES[name.trim()] ?? null;
}

/** True for the persistent-memory types (7 and 12). */
export function isPmemType(type: number | null): boolean {
  return type === E820_PMEM || type === E820_PRAM;
}
