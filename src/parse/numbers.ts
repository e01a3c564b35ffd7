/**
 * Numbers from untrusted text (kernel logs, /proc, sysfs, captured trees):
 * an address or size past 2^53 cannot be held exactly by a JavaScript
 * number, and a range that ends before it starts is impossible. Parsers
 * drop such values with a reason instead of printing wrong numbers.
 *
 * @module
 */

/** A hexadecimal number (no `0x`), or undefined when it is past 2^53-1. */
export function hexNumber(digits: string): number | undefined {
  const value = parseInt(digits, 16);
  return Number.isSafeInteger(value) ? value : undefined;
}

/** Why `[start, end]` (inclusive) from `text` is impossible, or undefined. */
export function impossibleRange(
  start: number | undefined,
  end: number | undefined,
): string | undefined {
  if (start === undefined || end === undefined) {
    return "an address past 2^53, which pmemctl cannot hold exactly";
  }
  if (end < start) return "it ends before it starts";
  return undefined;
}

/** A printable, bounded excerpt of untrusted text for messages. */
export function excerpt(text: string, max = 120): string {
  let out = "";
  for (const c of text.trim()) {
    const code = c.charCodeAt(0);
    out += code < 0x20 || code === 0x7f
      ? `\\x${code.toString(16).padStart(2, "0")}`
      : c;
    if (out.length >= max) return `${out.slice(0, max)}…`;
  }
  return out;
}
