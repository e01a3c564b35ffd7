/**
 * Imports that start-up does not pay for. Deno builds the module graph of
 * every import it can read in the source before running anything, dynamic
 * ones included: each module in it costs about 50 µs of every start, used or
 * not (bench/startup.ts: `pmemctl list` went from about 1.7× to about 1.5×
 * an empty `deno run` once the other commands, `list --probe`, the state
 * file and libc stopped being in its graph). A module imported here is found
 * only when the import runs.
 *
 * Bundlers cannot see these imports either. Names are paths from the
 * project's root, each listed once, with its type, in src/cli/lazy_modules.ts
 * (at the top of the import graph, since it names modules of every floor),
 * whose `load(name)` is typed by the name alone; `deno task compile`
 * (tools/compile.ts) includes each, and the .deb's bundle (tools/bundle.ts)
 * carries each in a chunk of its own, handing over their loaders with
 * {@link provide} before the program starts (loaders that import through
 * `new URL(…)`, so the bundle's start-up graph leaves the chunks out too). Below the CLI, the two modules
 * that load lazily name the type themselves:
 * `lazyImport<typeof import("../../ffi/libc.ts")>("ffi/libc.ts")`. Worker
 * threads' modules are named the same way ({@link workerUrl}).
 *
 * One rule for the two ways of loading late: a module kept out of the
 * graph that `deno run` builds before it starts goes through
 * {@link lazyImport}; a plain `import("./x.ts")` only delays evaluation
 * (the module is still read, parsed and in the graph), which is enough
 * inside a module that is itself loaded lazily, where the importer's
 * command needs it anyway or it is small.
 *
 * @module
 */

const ROOT = new URL("../", import.meta.url);
const provided = new Map<string, () => Promise<unknown>>();
const workers = new Map<string, URL>();

/**
 * The module `name` (a path from the project's root, e.g.
 * `"src/cli/list.ts"`), kept out of the start-up module graph, as type `T`
 * (the module's own: `typeof import(…)`; type positions are not part of the
 * graph `deno run` builds).
 */
export function lazyImport<T>(name: string): Promise<T> {
  const load = provided.get(name);
  return (load ? load() : import(new URL(name, ROOT).href)) as Promise<T>;
}

/** Where the worker module `name` (a path from the project's root) is. */
export function workerUrl(name: string): URL {
  return workers.get(name) ?? new URL(name, ROOT);
}

/**
 * For a bundle that carries the lazily imported modules itself: how to load
 * each by its name (an import of the bundle's own chunk), and where each
 * worker module was bundled to.
 */
export function provide(
  modules: Record<string, () => Promise<unknown>>,
  workerFiles: Record<string, URL> = {},
): void {
  for (const [name, m] of Object.entries(modules)) provided.set(name, m);
  for (const [name, url] of Object.entries(workerFiles)) workers.set(name, url);
}
