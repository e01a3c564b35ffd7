/**
 * `deno task compile` needs the denort runtime, which cannot be downloaded
 * here: where DENORT_BIN names one, compile pmemctl and run the binary.
 */
import assert from "node:assert/strict";
import denoJson from "../deno.json" with { type: "json" };
import { LAZY_MODULES, WORKER_MODULES } from "../src/cli/lazy_modules.ts";
import { compileArgs } from "../tools/compile.ts";
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
    // verify --jobs and map --jobs start worker threads from modules the binary must carry.
    const target = Deno.makeTempFileSync({ dir: "/dev/shm" });
    try {
      Deno.truncateSync(target, 64 * 2 ** 20);
      const jobs = await new Deno.Command(`${ROOT}dist/pmemctl`, {
        args: [
          "verify",
          target,
          "--mode",
          "destructive",
          "--force",
          "--jobs",
          "2",
          "--json",
        ],
        stdout: "piped",
      }).output();
      assert.equal(jobs.code, 0);
      assert.equal(JSON.parse(new TextDecoder().decode(jobs.stdout)).jobs, 2);
      // So does map --jobs.
      const copy = await new Deno.Command(`${ROOT}dist/pmemctl`, {
        args: ["map", "zero", target, "--force", "--jobs", "2", "--json"],
        stdout: "piped",
      }).output();
      assert.equal(copy.code, 0);
      assert.equal(JSON.parse(new TextDecoder().decode(copy.stdout)).jobs, 2);
    } finally {
      Deno.removeSync(target);
    }
  },
  // No denort can be downloaded on this workplace, CI's machine included.
  { optionalInCI: true },
);

Deno.test("deno task compile includes kmod/, each worker module and each lazily imported module, and src/cli/lazy_modules.ts lists exactly the modules the code loads lazily", () => {
  const args = compileArgs();
  const included = args.filter((_, i) => args[i - 1] === "--include");
  assert.deepEqual(
    new Set(included),
    new Set(["kmod", ...WORKER_MODULES, ...LAZY_MODULES]),
  );
  for (const f of included) Deno.statSync(`${ROOT}${f}`);
  const lazy = new Set<string>(), workers = new Set<string>();
  const walk = (dir: string) => {
    for (const e of Deno.readDirSync(`${ROOT}${dir}`)) {
      const path = `${dir}/${e.name}`;
      if (e.isDirectory) walk(path);
      else if (e.name.endsWith(".ts") && !e.name.endsWith("_test.ts")) {
        // Code only: doc comments show the call as an example.
        const text = Deno.readTextFileSync(`${ROOT}${path}`).split("\n")
          .filter((l) => !/^\s*(\*|\/\/|\/\*)/.test(l)).join("\n");
        for (
          const m of text.matchAll(
            /(?:\bload|lazyImport<[\s\S]*?>)\(\s*"([^"]+)"/g,
          )
        ) lazy.add(m[1]);
        for (
          const m of text.matchAll(/new Pool\(\s*[^,]+,\s*[^,]+,\s*"([^"]+)"/g)
        ) workers.add(m[1]);
      }
    }
  };
  walk("src");
  assert.deepEqual(lazy, new Set(LAZY_MODULES));
  assert.deepEqual(workers, new Set(WORKER_MODULES));
});
