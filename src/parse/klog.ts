/**
 * Kernel log text as people meet it — `dmesg`, `dmesg -T`, `dmesg -x`,
 * klogctl records (`<6>[...]`), /dev/kmsg records, syslog and journal lines,
 * and all of those pasted into mail (`> ` quotes, quoted-printable soft line
 * breaks) — turned back into the kernel's own message lines.
 *
 * @module
 */

/** Undoes quoted-printable: `=` at a line end joins lines, `=XX` is a byte. */
function decodeQuotedPrintable(text: string): string {
  const joined = text.replace(/=\r?\n/g, "");
  const bytes: number[] = [];
  const encoded = new TextEncoder().encode(joined);
  for (let i = 0; i < encoded.length; i++) {
    const c = encoded[i];
    if (c === 0x3d && i + 2 < encoded.length) {
      const hex = String.fromCharCode(encoded[i + 1], encoded[i + 2]);
      if (/^[0-9A-F]{2}$/.test(hex)) {
        bytes.push(parseInt(hex, 16));
        i += 2;
        continue;
      }
    }
    bytes.push(c);
  }
  return new TextDecoder().decode(new Uint8Array(bytes));
}

/**
 * True when the text is quoted-printable: soft line breaks (`=` at a line
 * end) together with escapes (`=3D` for "="), or several soft breaks.
 */
function looksQuotedPrintable(text: string): boolean {
  const first = text.indexOf("=\n");
  if (first < 0) return false;
  return /=(?:3D|20|09)/.test(text) || text.indexOf("=\n", first + 2) >= 0;
}

const MONTH = "(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)";
const PREFIXES: RegExp[] = [
  // syslog: "Nov 25 10:00:00 host kernel: "
  new RegExp(
    `^${MONTH}\\s+\\d{1,2}\\s+\\d\\d:\\d\\d:\\d\\d\\s+\\S+\\s+kernel:\\s?`,
  ),
  // journal (short-iso) and rsyslog with ISO times: "2026-11-25T10:00:00+0000 host kernel: "
  /^\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:[.,]\d+)?(?:Z|[+-]\d\d:?\d\d)?\s+\S+\s+kernel:\s?/,
  // a bare "kernel: " (journalctl -o cat variants, pasted fragments)
  /^kernel:\s?/,
  // dmesg -x: "kern  :info  : "
  /^(?:kern|user|mail|daemon|auth|syslog|lpr|news)\s*:(?:emerg|alert|crit|err|warn|notice|info|debug)\s*:\s?/,
  // /dev/kmsg record: "6,123,456789,-;"
  /^\d+,\d+,\d+,[^;]*;/,
  // klogctl/dmesg -r priority: "<6>"
  /^<\d+>/,
  // dmesg time stamps: "[    0.000000] ", "[  +0.000123] ", "[Wed Nov 25 10:00:00 2026] "
  /^\[\s*[+]?\d+\.\d+\]\s?/,
  /^\[[A-Z][a-z]{2} [A-Z][a-z]{2}\s+\d{1,2} \d\d:\d\d:\d\d \d{4}\]\s?/,
];

/** Strips one line's log decorations, outermost first, until none is left. */
function stripPrefixes(line: string): string {
  for (let changed = true; changed;) {
    changed = false;
    for (const p of PREFIXES) {
      const next = line.replace(p, "").trimStart();
      if (next !== line) {
        line = next;
        changed = true;
      }
    }
  }
  return line;
}

/**
 * The kernel's message lines in `text`, decorations removed; with `wanted`,
 * only the lines whose raw text matches it. Lines keep
 * their order; blank lines are dropped; leading and trailing blanks are
 * trimmed.
 */
export function kernelLogLines(text: string, wanted?: RegExp): string[] {
  let body = text.includes("\r\n") ? text.replace(/\r\n/g, "\n") : text;
  // Mail quoting first: "> > [    0.000000] BIOS-e820: ..." (with QP breaks inside).
  if (/^[ \t]*>/m.test(body)) {
    body = body.split("\n").map((l) => l.replace(/^(?:\s*>)+\s?/, "")).join(
      "\n",
    );
  }
  if (looksQuotedPrintable(body)) body = decodeQuotedPrintable(body);
  const out: string[] = [];
  // Line by line without splitting the whole text: a 64 MiB log stays one string.
  for (let at = 0; at < body.length;) {
    let end = body.indexOf("\n", at);
    if (end < 0) end = body.length;
    const raw = body.slice(at, end);
    at = end + 1;
    // A cheap test first: callers after a few kinds of line skip the rest.
    if (wanted && !wanted.test(raw)) continue;
    // Both ends are trimmed: pastes are often indented (markdown code blocks),
    // and no consumer needs the kernel's own indentation.
    const line = stripPrefixes(raw.trim()).trim();
    if (line !== "") out.push(line);
  }
  return out;
}
