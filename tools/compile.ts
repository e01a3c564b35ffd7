/**
 * `deno task compile`: one `dist/pmemctl` binary (`deno compile`), with
 * kmod/ and every module imported where deno compile cannot see it (the
 * lazily imported modules and the worker threads' modules, listed once in
 * src/cli/lazy_modules.ts) included. Needs a denort runtime: Deno downloads one, or
 * DENORT_BIN names it. usage: deno run -A tools/compile.ts [--output FILE]
 *
 * @module
 */

import { LAZY_MODULES, WORKER_MODULES } from "../src/cli/lazy_modules.ts";
import { toolMain, ToolUsage } from "./main.ts";

const ROOT = new URL("../", import.meta.url).pathname;

/** What `deno compile` includes beside cli.ts. */
export const COMPILE_INCLUDES: readonly string[] = [
  "kmod",
  ...WORKER_MODULES,
  ...LAZY_MODULES,
];

/**
 * The arguments of `deno compile` that write `output`, with paths relative
 * to `from` (the project's root as the working directory: "", or the root's
 * path and a slash) and `options` (e.g. `--no-config`) before them.
 */
export function compileArgs(
  output = "dist/pmemctl",
  from = "",
  options: string[] = [],
): string[] {
  return [
    "compile",
    "-A",
    ...options,
    ...COMPILE_INCLUDES.flatMap((f) => ["--include", `${from}${f}`]),
    "--output",
    output,
    `${from}cli.ts`,
  ];
}

if (import.meta.main) {
  await toolMain("compile", async () => {
    const args = [...Deno.args];
    let output: string | undefined;
    if (args[0] === "--output" && args[1]) output = args.splice(0, 2)[1];
    if (args.length) throw new ToolUsage("usage: compile.ts [--output FILE]");
    const r = await new Deno.Command(Deno.execPath(), {
      args: compileArgs(output),
      cwd: ROOT,
      stdout: "inherit",
      stderr: "inherit",
    }).output();
    // deno compile has said why on stderr.
    if (!r.success) Deno.exit(r.code);
  });
}
