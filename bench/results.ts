/**
 * The benches' rows in bench/RESULTS.md: a bench hands over what it
 * measured, and each row replaces the table's row of the same `what` (a
 * new one goes at the end), dated today. `RECORD=0` leaves the file alone.
 *
 * @module
 */

const RESULTS = new URL("./RESULTS.md", import.meta.url).pathname;

/** One figure: what was measured, pmemctl's figure, the reference's, their ratio. */
export interface Row {
  what: string;
  pmemctl: string;
  reference: string;
  ratio: string;
}

/** The cells of a table line (an escaped `\\|` stays in its cell). */
function cells(line: string): string[] {
  return line.slice(1, -1).split(/(?<!\\)\|/).map((c) => c.trim());
}

/** `rows` as they go into RESULTS.md's table (pure: the file's text in, the new text out). */
export function withRows(text: string, rows: Row[], date: string): string {
  const lines = text.split("\n");
  const start = lines.findIndex((l) => l.startsWith("| what"));
  if (start < 0) throw new Error("RESULTS.md has no table starting '| what'");
  let end = start + 2;
  while (end < lines.length && lines[end].startsWith("|")) end++;
  const clean = (s: string) => s.replaceAll("|", "\\|").replaceAll("\n", " ");
  for (const r of rows) {
    const line = `| ${
      [r.what, r.pmemctl, r.reference, r.ratio, date].map(clean).join(" | ")
    } |`;
    const at = lines.slice(start + 2, end).findIndex((l) =>
      cells(l)[0] === clean(r.what)
    );
    if (at >= 0) lines[start + 2 + at] = line;
    else lines.splice(end++, 0, line);
  }
  return lines.join("\n");
}

/** Prints `rows` as a table and, unless RECORD=0, writes them into RESULTS.md (then deno fmt). */
export function record(rows: Row[]): void {
  const date = new Date().toISOString().slice(0, 10);
  for (const r of rows) {
    console.log(`| ${r.what} | ${r.pmemctl} | ${r.reference} | ${r.ratio} |`);
  }
  if (Deno.env.get("RECORD") === "0") return;
  Deno.writeTextFileSync(
    RESULTS,
    withRows(Deno.readTextFileSync(RESULTS), rows, date),
  );
  new Deno.Command(Deno.execPath(), { args: ["fmt", "-q", RESULTS] })
    .outputSync();
}
