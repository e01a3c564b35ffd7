import assert from "node:assert/strict";
import { ProgressReporter, renderProgress } from "./progress.ts";

const GiB = 2 ** 30;

Deno.test("progress: bar, percent, bytes, rate, ETA in exact frames", () => {
  assert.equal(
    renderProgress({ done: GiB / 2, total: GiB, seconds: 2 }, 80),
    "[==============>               ]  50% 512.0 MiB / 1.0 GiB  256.0 MiB/s  ETA 0:02",
  );
  assert.equal(
    renderProgress({ done: 0, total: GiB, seconds: 0 }, 60),
    "[                      ]   0% 0 B / 1.0 GiB  0 B/s  ETA 0:00",
  );
  assert.equal(
    renderProgress({ done: GiB, total: GiB, seconds: 4 }, 60),
    "[============] 100% 1.0 GiB / 1.0 GiB  256.0 MiB/s  ETA 0:00",
  );
});

Deno.test("progress: each frame fills the width it was given", () => {
  for (const width of [60, 80, 120]) {
    assert.equal(
      renderProgress({ done: 3 * GiB, total: 8 * GiB, seconds: 5 }, width)
        .length,
      width,
    );
  }
});

Deno.test("progress: long ETAs in hours; narrow terminals drop the bar", () => {
  assert.match(
    renderProgress({ done: 1, total: 4 * 2 ** 40, seconds: 1 }, 100),
    /ETA \d+:\d\d:\d\d$/,
  );
  assert.equal(
    renderProgress({ done: GiB / 4, total: GiB, seconds: 1 }, 20),
    "25% 256.0 MiB / 1.0 GiB  256.0 MiB/s  ETA 0:03",
  );
});

Deno.test("the reporter draws on its sink only when the sink is a terminal", () => {
  let drawn = "";
  const sink = (tty: boolean) => ({
    write: (t: string) => {
      drawn += t;
    },
    isTerminal: () => tty,
  });
  const off = new ProgressReporter(100, sink(false));
  off.update(50);
  off.finish();
  assert.equal(drawn, "");
  const on = new ProgressReporter(100, sink(true));
  on.update(100);
  on.finish();
  assert.match(drawn, /^\r\[=+\] 100% 100 B \/ 100 B .*\n$/);
});
