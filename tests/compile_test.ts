/**
 * `deno task compile` needs the denort runtime, which cannot be downloaded
 * here: where DENORT_BIN names one, compile pmemctl and run the binary.
 */
import assert from "node:assert/strict";
import denoJson from "../deno.json" with { type: "json" };
import { requireThat } from "./require.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const denort = Deno.env.get("DENORT_BIN");

requireThat(
  denort ? undefined : "DENORT_BIN is not set (no denort runtime here)",
  "deno task compile builds one pmemctl binary that runs",
  async () => {
    const build = await new Deno.Command(Deno.execPath(), {
      args: ["task", "compile"],
      cwd: ROOT,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.ok(build.success, new TextDecoder().decode(build.stderr));
    const run = await new Deno.Command(`${ROOT}dist/pmemctl`, {
      args: ["--version"],
    }).output();
    assert.equal(run.code, 0);
    assert.equal(new TextDecoder().decode(run.stdout).trim(), denoJson.version);
    const bad = await new Deno.Command(`${ROOT}dist/pmemctl`, {
      args: ["--bogus"],
    }).output();
    assert.equal(bad.code, 2);
  },
  // No denort can be downloaded on this workplace, CI's machine included.
  { optionalInCI: true },
);
