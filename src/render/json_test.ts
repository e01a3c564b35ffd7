import assert from "node:assert/strict";
import { verifyRecord, verifyReport } from "./json.ts";
import type { VerifyOutcome } from "../verify/run.ts";

const outcome = (o: Partial<VerifyOutcome> = {}): VerifyOutcome => ({
  path: "/dev/pmem0",
  mode: "destructive",
  range: { offset: 0, length: 4096 },
  checked: 4096,
  log: { count: 0, first: [], ranges: [] },
  seconds: 0.5,
  io: "pwrite",
  jobs: 2,
  durable: true,
  found: { seed: 7, passes: 1 },
  ...o,
});

Deno.test("verifyReport: the spec's keys in the spec's order, pass only when nothing failed", () => {
  const r = verifyReport(outcome());
  assert.deepEqual(Object.keys(r), [
    "path",
    "mode",
    "offset",
    "length",
    "bytes_checked",
    "mismatch_count",
    "mismatches",
    "bad_ranges",
    "seconds",
    "bytes_per_second",
    "io",
    "jobs",
    "durable",
    "result",
    "seed",
    "passes",
  ]);
  assert.deepEqual([r.result, r.bytes_per_second], ["pass", 8192]);
  const fails: Partial<VerifyOutcome>[] = [
    { log: { count: 1, first: [], ranges: [] } },
    {
      log: {
        count: 0,
        first: [],
        ranges: [{ offset: 0, length: 512, reason: "EIO" }],
      },
    },
    { found: { reason: "no stamp at offset 0" } },
    { interrupted: "interrupted by SIGINT" },
  ];
  for (const f of fails) {
    assert.deepEqual(verifyReport(outcome(f)).result, "fail");
  }
  assert.deepEqual(verifyReport(outcome({ seconds: 0 })).bytes_per_second, 0);
});

Deno.test("verifyRecord keeps what list and export show of a report", () => {
  const r = verifyRecord(
    "/dev/pmem0",
    verifyReport(outcome()),
    new Date(Date.UTC(2026, 11, 5)),
  );
  assert.deepEqual(r, {
    target: "/dev/pmem0",
    mode: "destructive",
    result: "pass",
    time: "2026-12-05T00:00:00.000Z",
    offset: 0,
    length: 4096,
    bytes_checked: 4096,
    mismatch_count: 0,
    seed: 7,
  });
});
