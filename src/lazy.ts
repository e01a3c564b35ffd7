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
 * project's root; `deno task compile` has each as an `--include` (a test
 * checks), and the .deb's bundle (tools/bundle.ts) carries each in a chunk
 * of its own, handing over their loaders with {@link provide} before the
 * program starts. Worker threads' modules are named the same way
 * ({@link workerUrl}).
 *
 * @module
 */

const ROOT = new URL("../", import.meta.url);
const provided = new Map<string, () => Promise<unknown>>();
const workers = new Map<string, URL>();

/**
 * The module `name` (a path from the project's root, e.g.
 * `"src/cli/list.ts"`), kept out of the start-up module graph. Type it with
 * the module's own type: `lazyImport<typeof import("./cli/list.ts")>(…)`
 * (type positions are not part of the graph `deno run` builds).
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
