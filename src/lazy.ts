/**
 * Imports that start-up does not pay for. Deno builds the module graph of
 * every import it can read in the source before running anything, dynamic
 * ones included: each module in it costs about 50 µs of every start, used or
 * not (bench/startup.ts: `pmemctl list` went from 1.67× to about 1.5× an
 * empty `deno run` once the other commands, `list --probe` and the state
 * file stopped being in its graph). A module imported here is found only
 * when the import runs. `deno compile` cannot see these imports either: each
 * path given to {@link lazyImport} is an `--include` of the compile task,
 * which a test checks.
 *
 * @module
 */

/**
 * `import(path)` relative to `base` (the caller's `import.meta.url`), kept
 * out of the start-up module graph. Type it with the module's own type:
 * `lazyImport<typeof import("./x.ts")>(import.meta.url, "./x.ts")` (type
 * positions are not part of the graph `deno run` builds).
 */
export function lazyImport<T>(base: string, path: string): Promise<T> {
  return import(new URL(path, base).href);
}
