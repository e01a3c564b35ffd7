import assert from "node:assert/strict";
import { withRows } from "../bench/results.ts";

const TABLE = `# Speed

| what | pmemctl | reference | ratio | date |
| ---- | ------- | --------- | ----- | ---- |
| a    | 1 s     | dd 1 s    | 1.00× | 2026-11-26 |
| b    | 2 s     | dd 1 s    | 2.00× | 2026-11-26 |

## Notes

| not | this | table |
`;

Deno.test("a bench's rows replace the rows of the same what, dated, and new ones go at the table's end", () => {
  const out = withRows(TABLE, [
    { what: "b", pmemctl: "1.5 s", reference: "dd 1 s", ratio: "1.50×" },
    { what: "c | d", pmemctl: "3 s", reference: "—", ratio: "—" },
  ], "2026-12-05");
  const lines = out.split("\n");
  assert.equal(lines[4], "| a    | 1 s     | dd 1 s    | 1.00× | 2026-11-26 |");
  assert.equal(lines[5], "| b | 1.5 s | dd 1 s | 1.50× | 2026-12-05 |");
  // A | in a cell is escaped, so the row keeps its five cells.
  assert.equal(lines[6], "| c \\| d | 3 s | — | — | 2026-12-05 |");
  assert.equal(lines[7], "");
  assert.ok(out.endsWith("## Notes\n\n| not | this | table |\n"));
  // Recording the same rows again changes nothing.
  assert.equal(
    withRows(out, [
      { what: "c | d", pmemctl: "3 s", reference: "—", ratio: "—" },
    ], "2026-12-05"),
    out,
  );
});
