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
 * checks), and the .deb's bundle (tools/deb.ts) carries them itself,
 * handing them over with {@link provide} before the program starts. Worker
 * threads' modules are named the same way ({@link workerUrl}).
 *
 * @module
 */

const ROOT = new URL("../", import.meta.url);
const provided = new Map<string, unknown>();
const workers = new Map<string, URL>();

/**
 * The module `name` (a path from the project's root, e.g.
 * `"src/cli/list.ts"`), kept out of the start-up module graph. Type it with
 * the module's own type: `lazyImport<typeof import("./cli/list.ts")>(…)`
 * (type positions are not part of the graph `deno run` builds).
 */
export function lazyImport<T>(name: string): Promise<T> {
  return provided.has(name)
    ? Promise.resolve(provided.get(name) as T)
    : import(new URL(name, ROOT).href);
}

/** Where the worker module `name` (a path from the project's root) is. */
export function workerUrl(name: string): URL {
  return workers.get(name) ?? new URL(name, ROOT);
}

/**
 * For a bundle that carries the lazily imported modules itself: each by its
 * name, and where each worker module was bundled to.
 */
export function provide(
  modules: Record<string, unknown>,
  workerFiles: Record<string, URL> = {},
): void {
  for (const [name, m] of Object.entries(modules)) provided.set(name, m);
  for (const [name, url] of Object.entries(workerFiles)) workers.set(name, url);
}
