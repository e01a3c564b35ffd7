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

/** A printable, bounded excerpt of untrusted text for messages (one line). */
export function excerpt(text: string, max = 120): string {
  const line = escapeField(text.trim());
  return line.length > max ? `${line.slice(0, max)}…` : line;
}

/** Whether `code` is a control character (C0, DEL or C1: a terminal may act on it). */
const isControl = (code: number) =>
  code < 0x20 || (code >= 0x7f && code <= 0x9f);

/**
 * `text` with every control character but newline shown as `\\xNN`, so text
 * taken from a tree or log cannot drive the terminal it is printed on.
 */
export function escapeControls(text: string): string {
  let out = "";
  for (const c of text) {
    const code = c.charCodeAt(0);
    out += isControl(code) && c !== "\n"
      ? `\\x${code.toString(16).padStart(2, "0")}`
      : c;
  }
  return out;
}

/**
 * One field of a line (a path, a mount point, a name): every control
 * character shown as `\\xNN`, newlines too, so a name cannot end a line or
 * begin one that is not pmemctl's.
 */
export function escapeField(text: string): string {
  return escapeControls(text).replace(/\n/g, "\\x0a");
}
