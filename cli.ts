#!/usr/bin/env -S deno run -A
/**
 * pmemctl's entry point: runs the command tree (src/cli/) on the arguments
 * and ends with the spec's exit code. The commands live one family per
 * module in src/cli/ (list.ts, map.ts, verify.ts, kmod.ts; completions and
 * man in tree.ts); errors are printed once, as `pmemctl: <what>: <why>`, by
 * src/cli/app.ts.
 *
 * @module
 */

import { processArgs } from "./src/cli/exact_args.ts";
import { FAMILIES, familyRoot, wholeTree } from "./src/cli/families.ts";
import { type Output, processOutput } from "./src/cli/output.ts";
import { VERSION } from "./src/version.ts";

export type { Output };
export { processOutput };

export { VERSION };

/** Runs the CLI on `args` (without the program name) and returns the exit code. */
export async function run(
  args: string[],
  out: Output = processOutput,
  /** Take the arguments' exact bytes from /proc/self/cmdline (the process's own arguments). */
  exact = false,
): Promise<number> {
  try {
    if (exact) args = processArgs(args);
    // The cheapest answer first: no command tree to load.
    if (args.length === 1 && (args[0] === "--version" || args[0] === "-V")) {
      out.stdout(`${VERSION}\n`);
      return 0;
    }
    // A command family's first word loads that family alone (families.ts).
    const family = Object.hasOwn(FAMILIES, args[0] ?? "")
      ? FAMILIES[args[0]]
      : undefined;
    const [root, { runTree }] = await Promise.all([
      family ? family().then(familyRoot) : wholeTree(VERSION),
      import("./src/cli/app.ts"),
    ]);
    return await runTree(root, VERSION, args, out);
  } catch (error) {
    // What fails outside a command (--version or --help to a full or closed
    // stdout) is reported as a command's failure is: one line.
    const { report } = await import("./src/cli/app.ts");
    return report(error, out);
  }
}

if (import.meta.main) {
  Deno.exit(await run(Deno.args, processOutput, true));
}
