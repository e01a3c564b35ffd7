import assert from "node:assert/strict";
import { UsageError } from "./errors.ts";
import { hex, humanSize, parseSize } from "./units.ts";

Deno.test("parseSize takes the spec's forms", () => {
  const cases: [string, number][] = [
    ["4096", 4096],
    ["0x1000", 4096],
    ["0X1f", 31],
    ["4K", 4096],
    ["4KiB", 4096],
    ["4k", 4096],
    ["1M", 2 ** 20],
    ["2G", 2 * 2 ** 30],
    ["1T", 2 ** 40],
    ["0x10M", 16 * 2 ** 20],
    ["0", 0],
  ];
  for (const [text, want] of cases) {
    assert.equal(parseSize(text, "--length"), want, text);
  }
});

Deno.test("parseSize refuses anything else, naming the value", () => {
  for (
    const bad of [
      "",
      "1.5M",
      "-1",
      "4KB",
      "4 K",
      "1P",
      "abc",
      "0x",
      "99999999999T",
    ]
  ) {
    assert.throws(() => parseSize(bad, "--length"), (e) => {
      assert.ok(e instanceof UsageError);
      assert.equal(e.exitCode, 2);
      assert.ok(e.message.startsWith("--length: "), e.message);
      return true;
    }, bad);
  }
});

Deno.test("humanSize matches ndctl's -u strings", () => {
  // Values ndctl list -u printed for the guests' namespaces (tests/fixtures/*/ndctl-list-u.json).
  assert.equal(humanSize(268435456), "256.00 MiB (268.44 MB)");
  assert.equal(humanSize(526385152), "502.00 MiB (526.39 MB)");
  assert.equal(humanSize(534773760), "510.00 MiB (534.77 MB)");
  assert.equal(humanSize(2 ** 40), "1024.00 GiB (1099.51 GB)");
  assert.equal(humanSize(3 * 2 ** 30), "3.00 GiB (3.22 GB)");
  assert.equal(humanSize(2 ** 31 - 1), "2048.00 MiB (2147.48 MB)");
  assert.equal(humanSize(512), 512); // below 5000 KiB ndctl prints the number
  assert.equal(humanSize(5000 * 1024 - 1), 5000 * 1024 - 1);
  assert.equal(hex(0x40000000), "0x40000000");
});

Deno.test("humanSize agrees with every size ndctl -u printed in the captured guests", () => {
  const fixtures = new URL("../tests/fixtures/", import.meta.url).pathname;
  let compared = 0;
  const walk = (raw: unknown, human: unknown): void => {
    // With -u, ndctl prints a one-element list as its element alone.
    if (Array.isArray(raw) && raw.length === 1 && !Array.isArray(human)) {
      walk(raw[0], human);
    } else if (Array.isArray(raw) && Array.isArray(human)) {
      raw.forEach((r, i) => walk(r, human[i]));
    } else if (
      raw && typeof raw === "object" && human && typeof human === "object"
    ) {
      for (const [k, v] of Object.entries(raw)) {
        const h: unknown = (human as Record<string, unknown>)[k];
        if (/size$/.test(k) && typeof v === "number") {
          assert.equal(humanSize(v), h, `${k}=${v}`);
          compared++;
        } else walk(v, h);
      }
    }
  };
  for (const dir of Deno.readDirSync(fixtures)) {
    if (!dir.isDirectory || dir.name === "faults") continue;
    // ndctl prints nothing where there is no libnvdimm bus (soft-reserved memory).
    const read = (f: string) => {
      const text = Deno.readTextFileSync(`${fixtures}${dir.name}/${f}`).trim();
      return text ? JSON.parse(text) : undefined;
    };
    try {
      walk(read("ndctl-list.json"), read("ndctl-list-u.json"));
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
  }
  assert.ok(compared >= 5, `compared ${compared} sizes`);
});
