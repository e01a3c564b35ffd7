/**
 * `memmap=` on the kernel command line, read as the kernel reads it
 * (arch/x86/kernel/e820.c): `nn[KMG]@ss` RAM, `nn#ss` ACPI data, `nn$ss`
 * reserved, `nn!ss` persistent memory (type 12), `nn%ss-t+n` type change,
 * `nn` alone a memory limit, `exactmap`; several `memmap=` and comma lists.
 *
 * @module
 */

import { E820_PRAM } from "./e820_types.ts";

/** What one `memmap=` item asks for. */
export type MemmapKind =
  | "ram"
  | "acpi"
  | "reserved"
  | "pmem"
  | "retype"
  | "limit"
  | "exactmap";

/** One parsed item. */
export interface MemmapRequest {
  /** The item as written, e.g. `256M!1G`. */
  text: string;
  kind: MemmapKind;
  size?: number;
  start?: number;
  /** The e820 type the item adds (12 for `!`). */
  type?: number;
  /** For `%`: the old and new types (0 when not given). */
  fromType?: number;
  toType?: number;
}

/** An item the kernel would reject. */
export interface MemmapError {
  text: string;
  reason: string;
}

/** Every `memmap=` item of a command line, and the ones the kernel would refuse. */
export interface MemmapParse {
  requests: MemmapRequest[];
  errors: MemmapError[];
}

/** The kernel's memparse(): a number in C base 0 with an optional K/M/G/T/P/E suffix. */
function memparse(text: string): { value: number; rest: string } | undefined {
  const m = text.match(/^(0x[0-9a-f]+|0[0-7]*|[1-9]\d*)([kmgtpe]?)/i);
  if (!m) return undefined;
  const digits = m[1];
  const base = /^0x/i.test(digits)
    ? parseInt(digits, 16)
    : digits.length > 1 && digits[0] === "0"
    ? parseInt(digits, 8)
    : parseInt(digits, 10);
  const shift = {
    "": 0,
    k: 10,
    m: 20,
    g: 30,
    t: 40,
    p: 50,
    e: 60,
  }[m[2].toLowerCase()]!;
  const value = base * 2 ** shift;
  // Past 2^53 the number cannot be held exactly: no size or address then.
  if (!Number.isSafeInteger(value)) return undefined;
  return { value, rest: text.slice(m[0].length) };
}

/** simple_strtoull(…, 0) for the `%` type numbers. */
function strtoull(text: string): { value: number; rest: string } {
  const m = text.match(/^(0x[0-9a-f]+|\d+)/i);
  if (!m) return { value: 0, rest: text };
  return {
    value: /^0x/i.test(m[1]) ? parseInt(m[1], 16) : parseInt(m[1], 10),
    rest: text.slice(m[0].length),
  };
}

const KINDS: Record<string, { kind: MemmapKind; type: number }> = {
  "@": { kind: "ram", type: 1 },
  "#": { kind: "acpi", type: 3 },
  "$": { kind: "reserved", type: 2 },
  "!": { kind: "pmem", type: E820_PRAM },
};

function parseItem(text: string): MemmapRequest | MemmapError {
  if (text === "exactmap") return { text, kind: "exactmap" };
  const size = memparse(text);
  if (!size) return { text, reason: "does not start with a size (e.g. 256M)" };
  const op = size.rest[0];
  if (op === undefined) return { text, kind: "limit", size: size.value };
  if (op === "\\" && /^\\[$!#@%]/.test(size.rest)) {
    return {
      text,
      reason: `a '\\' before '${
        size.rest[1]
      }' reached the kernel; escape it for your boot loader only (GRUB: memmap=${
        text.replace("\\", "\\\\")
      } in the config file)`,
    };
  }
  const start = memparse(size.rest.slice(1));
  if (!(op in KINDS) && op !== "%") {
    return { text, reason: `unknown operator '${op}' (use @, #, $, ! or %)` };
  }
  if (!start) return { text, reason: `no start address after '${op}'` };
  if (op === "%") {
    let rest = start.rest;
    let fromType = 0;
    let toType = 0;
    if (rest[0] === "-") ({ value: fromType, rest } = strtoull(rest.slice(1)));
    if (rest[0] === "+") ({ value: toType, rest } = strtoull(rest.slice(1)));
    if (rest !== "") {
      return {
        text,
        reason: `unexpected '${rest}' (the form is nn%ss-old+new)`,
      };
    }
    return {
      text,
      kind: "retype",
      size: size.value,
      start: start.value,
      fromType,
      toType,
    };
  }
  if (start.rest !== "") {
    return {
      text,
      reason: `unexpected '${start.rest}' after the start address`,
    };
  }
  const { kind, type } = KINDS[op];
  return { text, kind, size: size.value, start: start.value, type };
}

/** Splits a command line into words, honouring double quotes as the kernel does. */
function words(cmdline: string): string[] {
  return [...cmdline.matchAll(/(?:[^\s"]+|"[^"]*")+/g)].map((m) =>
    m[0].replace(/"/g, "")
  );
}

/** Parses every `memmap=` of a kernel command line. */
export function parseMemmap(cmdline: string): MemmapParse {
  const out: MemmapParse = { requests: [], errors: [] };
  for (const word of words(cmdline)) {
    if (!word.startsWith("memmap=")) continue;
    const value = word.slice("memmap=".length);
    if (value === "") {
      out.errors.push({ text: word, reason: "empty memmap=" });
      continue;
    }
    for (const item of value.split(",")) {
      const parsed = parseItem(item);
      if ("reason" in parsed) out.errors.push(parsed);
      else out.requests.push(parsed);
    }
  }
  return out;
}
