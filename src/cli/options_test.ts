import assert from "node:assert/strict";
import { UsageError } from "../errors.ts";
import { Options, parseValue } from "./options.ts";
import { jobsFlag, lengthFlag, offsetFlag } from "./spec.ts";
import type { FlagSpec } from "./spec.ts";

const passes: FlagSpec = {
  name: "passes",
  brief: "",
  kind: "value",
  default: "1",
  value: "count",
};

Deno.test("options are parsed once by their declared type, defaults included", () => {
  const specs = [
    offsetFlag(),
    lengthFlag(""),
    jobsFlag(""),
    passes,
    { name: "output", brief: "", kind: "value" } as FlagSpec,
    { name: "json", brief: "", kind: "boolean" } as FlagSpec,
  ];
  const o = new Options(specs, {
    offset: "0",
    length: "2M",
    jobs: "4",
    passes: "3",
    output: "out",
    json: true,
  });
  assert.equal(o.number("offset"), 0);
  assert.equal(o.optionalNumber("length"), 2 * 2 ** 20);
  assert.equal(o.optionalNumber("jobs"), 4);
  assert.equal(o.number("passes"), 3);
  assert.equal(o.optionalText("output"), "out");
  assert.equal(o.bool("json"), true);
  const none = new Options(specs, { offset: "0", passes: "1" });
  assert.equal(none.optionalNumber("length"), undefined);
  assert.equal(none.bool("json"), false);
  // A handler asking for the wrong type is a bug, said as one.
  assert.throws(() => o.optionalText("length"), /holds number, not text/);
  assert.throws(() => none.text("output"), /no value and no default/);
});

Deno.test("a bad value is the usage error each type gives", () => {
  const bad = (f: FlagSpec, v: string, message: string) =>
    assert.throws(
      () => parseValue(f, v),
      (e: unknown) => e instanceof UsageError && e.message === message,
    );
  bad(
    offsetFlag(),
    "4X",
    "--offset: '4X' is not a size (use 4096, 0x1000, 4K, 1M, 2G, 1T)",
  );
  bad(jobsFlag(""), "0", "--jobs: '0': not a number of threads from 1 to 16");
  bad(jobsFlag(""), "17", "--jobs: '17': not a number of threads from 1 to 16");
  bad(jobsFlag(""), "2K", "--jobs: '2K': not a number of threads from 1 to 16");
  bad(passes, "0", "--passes: must be at least 1");
});
