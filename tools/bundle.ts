/**
 * The program bundled for Deno's own runtime (`deno bundle`), as the .deb
 * ships it where no denort exists to `deno compile` it, and as
 * bench/startup.ts measures it. usage: deno run -A tools/bundle.ts DIR
 *
 * @module
 */

import { LAZY_MODULES, WORKER_MODULES } from "../src/cli/lazy_modules.ts";
import { lastLine, ToolError, toolMain, ToolUsage } from "./main.ts";

const ROOT = new URL("../", import.meta.url).pathname;

/** `src/verify/worker.ts` → `verify-worker.js`, its bundle's name. */
function workerFile(name: string): string {
  const parts = name.replace(/\.ts$/, "").split("/");
  return `${parts.at(-2)}-${parts.at(-1)}.js`;
}

/** Runs `cmd`, throwing with the last line of its stderr if it fails. */
export function sh(
  cmd: string,
  args: string[],
  env?: Record<string, string>,
): void {
  const out = new Deno.Command(cmd, { args, env, stderr: "piped" })
    .outputSync();
  if (!out.success) {
    const name = cmd.split("/").at(-1);
    throw new ToolError(
      `${name} ${args[0]}: ${
        lastLine(new TextDecoder().decode(out.stderr)) || `exit ${out.code}`
      }`,
    );
  }
}

/**
 * Bundles the program into `dir` (`deno bundle`): `pmemctl.js`, its entry,
 * and the chunks it loads when it needs them. Each module pmemctl imports
 * lazily (src/lazy.ts) is a chunk of its own whose loader is handed over
 * before cli.ts starts, so the bundle starts as light as the checkout does;
 * each worker module is a bundle of its own beside them.
 */
export function bundle(dir: string): void {
  const workers = WORKER_MODULES;
  const lazy = LAZY_MODULES;
  const entryDir = Deno.makeTempDirSync({ prefix: "pmemctl-bundle-" });
  const entry = `${entryDir}/pmemctl.ts`;
  Deno.writeTextFileSync(
    entry,
    [
      `import { provide } from "${ROOT}src/lazy.ts";`,
      `provide({`,
      ...lazy.map((f) => `  "${f}": () => import("${ROOT}${f}"),`),
      `}, {`,
      ...workers.map((f) =>
        `  "${f}": new URL("./${workerFile(f)}", import.meta.url),`
      ),
      `});`,
      // cli.ts runs itself only as the entry (import.meta.main): here it is not.
      `const { run, processOutput } = await import("${ROOT}cli.ts");`,
      `Deno.exit(await run(Deno.args, processOutput, true));`,
    ].join("\n"),
  );
  const bundleArgs = ["bundle", "--quiet", "--no-config"];
  try {
    sh(Deno.execPath(), [
      ...bundleArgs,
      "--code-splitting",
      "--outdir",
      dir,
      entry,
    ]);
  } finally {
    Deno.removeSync(entryDir, { recursive: true });
  }
  for (const f of workers) {
    sh(Deno.execPath(), [
      ...bundleArgs,
      "--output",
      `${dir}/${workerFile(f)}`,
      `${ROOT}${f}`,
    ]);
  }
  let hidden = 0;
  for (const e of Deno.readDirSync(dir)) {
    const js = `${dir}/${e.name}`;
    // deno runs them; cli.ts's #! line, kept by the bundler, only a script needs.
    const text = hideChunkImports(
      Deno.readTextFileSync(js).replace(/^#!.*\n/, ""),
    );
    hidden += text.hidden;
    Deno.writeTextFileSync(js, text.source);
    Deno.chmodSync(js, 0o644);
  }
  if (hidden < lazy.length) {
    throw new ToolError(
      `${hidden} imports of chunks found for ${lazy.length} lazy modules (has deno bundle's output changed?)`,
    );
  }
}

/**
 * The bundler's `import("./chunk.js")` made `import(new URL("./chunk.js",
 * import.meta.url).href)`: the same chunk, loaded when the import runs, but
 * no longer a literal that Deno follows into the module graph it builds
 * before starting (src/lazy.ts). Left literal, every chunk of every command
 * was read at each start: `list` 24.1 → 21.1 ms, `--version` 19.2 → 16.2 ms
 * (an empty `deno run` 14 ms).
 */
function hideChunkImports(
  source: string,
): { source: string; hidden: number } {
  let hidden = 0;
  const out = source.replace(
    /\bimport\("(\.\/[\w.-]+\.js)"\)/g,
    (_, file: string) => {
      hidden++;
      return `import(new URL(${JSON.stringify(file)}, import.meta.url).href)`;
    },
  );
  return { source: out, hidden };
}

if (import.meta.main) {
  await toolMain("bundle", () => {
    if (Deno.args.length !== 1) {
      throw new ToolUsage("usage: deno run -A tools/bundle.ts DIR");
    }
    bundle(Deno.args[0]);
  });
}
