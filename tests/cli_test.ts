import assert from "node:assert/strict";
import denoJson from "../deno.json" with { type: "json" };
import { pmemctl } from "./helpers.ts";

Deno.test("--version prints deno.json's version", async () => {
  const r = await pmemctl("--version");
  assert.equal(r.code, 0);
  assert.equal(r.stdout.trim(), denoJson.version);
});

Deno.test("--help lists the commands on stdout", async () => {
  const r = await pmemctl("--help");
  assert.equal(r.code, 0);
  assert.match(r.stdout, /^Usage: pmemctl/);
  assert.match(r.stdout, /completions <shell>/);
  assert.equal(r.stderr, "");
});

Deno.test("no command: help on stderr, exit 2", async () => {
  const r = await pmemctl();
  assert.equal(r.code, 2);
  assert.equal(r.stdout, "");
  assert.match(r.stderr, /Usage: pmemctl/);
});

for (
  const [args, why] of [
    [["--bogus"], "unknown option '--bogus'"],
    [["frobnicate"], "unknown command 'frobnicate'"],
    [["completions"], "missing required argument 'shell'"],
    [["completions", "tcsh"], "'tcsh' is invalid for argument 'shell'"],
  ] as const
) {
  Deno.test(`usage error '${args.join(" ")}': one line, exit 2, no stack`, async () => {
    const r = await pmemctl(...args);
    assert.equal(r.code, 2);
    assert.equal(r.stdout, "");
    const lines = r.stderr.trimEnd().split("\n");
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0], /^pmemctl: usage: /);
    assert.ok(lines[0].includes(why), lines[0]);
    assert.doesNotMatch(r.stderr, /\bat .*\.ts:\d+/);
  });
}

Deno.test("completions print a script for each shell", async () => {
  for (const shell of ["bash", "zsh", "fish"]) {
    const r = await pmemctl("completions", shell);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /completions/);
  }
});
