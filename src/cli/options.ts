/**
 * A command's options, typed: each value flag declares in the spec what it
 * holds (text, a size, a count), the values are parsed once here, defaults
 * included, and handlers read numbers and strings instead of casting.
 *
 * @module
 */

import { UsageError } from "../errors.ts";
import { parseSize } from "../units.ts";
import type { FlagSpec } from "./spec.ts";

/** What a value flag holds. */
export type ValueType = "text" | "size" | "count";

/** One flag's value, parsed by its type (`what` names it in errors). */
export function parseValue(flag: FlagSpec, text: string): string | number {
  const what = `--${flag.name}`;
  switch (flag.value ?? "text") {
    case "text":
      return text;
    case "size":
      return parseSize(text, what);
    case "count": {
      const min = flag.min ?? 1;
      if (flag.max !== undefined) {
        // A bounded count: a plain whole number inside its bounds.
        const n = /^[0-9]+$/.test(text) ? Number(text) : NaN;
        if (!(n >= min && n <= flag.max)) {
          throw new UsageError(
            `${what}: '${text}'`,
            `not a number of ${
              flag.unit ?? "items"
            } from ${min} to ${flag.max}`,
          );
        }
        return n;
      }
      const n = parseSize(text, what);
      if (n < min) throw new UsageError(what, `must be at least ${min}`);
      return n;
    }
  }
}

/** The parsed values of one invocation's flags. */
export class Options {
  readonly #values = new Map<string, string | number | boolean>();

  /** Parses every flag given (or defaulted) by its spec; a bad value is a usage error. */
  constructor(
    specs: readonly FlagSpec[],
    raw: Record<string, string | boolean | undefined>,
  ) {
    for (const f of specs) {
      const v = raw[f.name];
      if (v === undefined) continue;
      this.#values.set(
        f.name,
        f.kind === "boolean" ? v === true : parseValue(f, v as string),
      );
    }
  }

  #get<T>(
    name: string,
    type: string,
    ok: (v: unknown) => v is T,
  ): T | undefined {
    const v = this.#values.get(name);
    if (v === undefined || ok(v)) return v as T | undefined;
    throw new Error(`--${name} holds ${typeof v}, not ${type}`);
  }

  /** Whether a boolean flag was given. */
  bool(name: string): boolean {
    return this.#get(name, "a boolean", isBoolean) ?? false;
  }

  /** A text flag's value, when given. */
  optionalText(name: string): string | undefined {
    return this.#get(name, "text", isString);
  }

  /** A text flag with a default: always there. */
  text(name: string): string {
    return need(name, this.optionalText(name));
  }

  /** A size or count flag's value, when given. */
  optionalNumber(name: string): number | undefined {
    return this.#get(name, "a number", isNumber);
  }

  /** A size or count flag with a default: always there. */
  number(name: string): number {
    return need(name, this.optionalNumber(name));
  }
}

const isBoolean = (v: unknown): v is boolean => typeof v === "boolean";
const isString = (v: unknown): v is string => typeof v === "string";
const isNumber = (v: unknown): v is number => typeof v === "number";

function need<T>(name: string, v: T | undefined): T {
  if (v === undefined) throw new Error(`--${name} has no value and no default`);
  return v;
}
