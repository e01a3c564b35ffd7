import assert from "node:assert/strict";
import { pieces } from "./pool.ts";

Deno.test("pieces: cut on multiples of the unit from absolute offset 0, in order, covering the range exactly", () => {
  const M = 2 ** 20;
  assert.deepEqual(pieces({ offset: 1000, length: 40 * M }, 16 * M), [
    { offset: 1000, length: 16 * M - 1000 },
    { offset: 16 * M, length: 16 * M },
    { offset: 32 * M, length: 8 * M + 1000 },
  ]);
  assert.deepEqual(pieces({ offset: 16 * M, length: 16 * M }, 16 * M), [
    { offset: 16 * M, length: 16 * M },
  ]);
  assert.deepEqual(pieces({ offset: 5, length: 0 }, 16 * M), []);
});
