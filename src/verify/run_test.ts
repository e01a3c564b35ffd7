import assert from "node:assert/strict";
import { outside } from "./run.ts";

Deno.test("outside: the parts of a range that miss every hole, holes in any order", () => {
  assert.deepEqual(outside(0, 100, []), [[0, 100]]);
  assert.deepEqual(
    outside(0, 100, [{ start: 50, end: 60 }, { start: 10, end: 20 }]),
    [[0, 10], [20, 50], [60, 100]],
  );
  // Holes over the edges, overlapping each other, and beyond the range.
  assert.deepEqual(
    outside(10, 100, [
      { start: 0, end: 15 },
      { start: 40, end: 70 },
      { start: 60, end: 80 },
      { start: 95, end: 200 },
      { start: 300, end: 400 },
    ]),
    [[15, 40], [80, 95]],
  );
  assert.deepEqual(outside(10, 20, [{ start: 0, end: 30 }]), []);
});
