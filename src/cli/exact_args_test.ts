import assert from "node:assert/strict";
import { UsageError } from "../errors.ts";
import { exactArgs } from "./exact_args.ts";

const line = (...fields: (string | number[])[]) =>
  new Uint8Array(
    fields.flatMap((f) => [
      ...(typeof f === "string" ? new TextEncoder().encode(f) : f),
      0,
    ]),
  );

Deno.test("exactArgs gives back the carriage returns Deno strips", () => {
  const cmdline = line(
    "deno",
    "run",
    "-A",
    "cli.ts",
    "map",
    "zero",
    "data\r",
    "x\r\r",
    "\r",
  );
  assert.deepEqual(
    exactArgs(cmdline, ["map", "zero", "data", "x", ""]),
    ["map", "zero", "data\r", "x\r\r", "\r"],
  );
});

Deno.test("exactArgs refuses an argument that is not UTF-8, naming its bytes", () => {
  const bad = [0x62, 0x61, 0x64, 0xff];
  const cmdline = line("pmemctl", "map", "zero", bad, "--force");
  assert.throws(
    () => exactArgs(cmdline, ["map", "zero", "bad\ufffd", "--force"]),
    (e: unknown) =>
      e instanceof UsageError &&
      e.message ===
        'argument 3 "bad\\xff": not valid UTF-8; pmemctl cannot pass such a name on unchanged',
  );
  // A lone surrogate's bytes (CESU/WTF-8) are not UTF-8 either.
  const cesu = [0xed, 0xa0, 0x80];
  assert.throws(
    () => exactArgs(line("p", cesu), ["\ufffd\ufffd\ufffd"]),
    UsageError,
  );
});

Deno.test("exactArgs keeps Deno's arguments when the command line is not theirs", () => {
  assert.deepEqual(exactArgs(line("a", "b"), ["x", "y", "z"]), ["x", "y", "z"]);
  assert.deepEqual(exactArgs(line("a", "b"), ["c"]), ["c"]);
  assert.deepEqual(exactArgs(new Uint8Array(), []), []);
  // Empty arguments and UTF-8 beyond ASCII pass as they are.
  assert.deepEqual(
    exactArgs(line("p", "", "Grüße"), ["", "Grüße"]),
    ["", "Grüße"],
  );
});
