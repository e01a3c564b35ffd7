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
 * project's root, each listed once below with its type ({@link LazyModules})
 * and at run time ({@link LAZY_MODULES}); `deno task compile`
 * (tools/compile.ts) includes each, and the .deb's bundle (tools/bundle.ts)
 * carries each in a chunk of its own, handing over their loaders with
 * {@link provide} before the program starts. Worker threads' modules are
 * named the same way ({@link WORKER_MODULES}, {@link workerUrl}).
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

/** Each lazily imported module by its path from the project's root, with its type. */
export interface LazyModules {
  "ffi/libc.ts": typeof import("../ffi/libc.ts");
  "src/cli/doctor.ts": typeof import("./cli/doctor.ts");
  "src/cli/export.ts": typeof import("./cli/export.ts");
  "src/cli/help.ts": typeof import("./cli/help.ts");
  "src/cli/kmod.ts": typeof import("./cli/kmod.ts");
  "src/cli/list.ts": typeof import("./cli/list.ts");
  "src/cli/map.ts": typeof import("./cli/map.ts");
  "src/cli/map_run.ts": typeof import("./cli/map_run.ts");
  "src/cli/plan.ts": typeof import("./cli/plan.ts");
  "src/cli/tree.ts": typeof import("./cli/tree.ts");
  "src/cli/verify.ts": typeof import("./cli/verify.ts");
  "src/list/probe.ts": typeof import("./list/probe.ts");
  "src/state/results.ts": typeof import("./state/results.ts");
  "src/verify/mode_rw.ts": typeof import("./verify/mode_rw.ts");
}

/** The names of {@link LazyModules} at run time (the compiler keeps the two equal). */
export const LAZY_MODULES = [
  "ffi/libc.ts",
  "src/cli/doctor.ts",
  "src/cli/export.ts",
  "src/cli/help.ts",
  "src/cli/kmod.ts",
  "src/cli/list.ts",
  "src/cli/map.ts",
  "src/cli/map_run.ts",
  "src/cli/plan.ts",
  "src/cli/tree.ts",
  "src/cli/verify.ts",
  "src/list/probe.ts",
  "src/state/results.ts",
  "src/verify/mode_rw.ts",
] as const satisfies readonly (keyof LazyModules)[];

// A name in LazyModules but not in LAZY_MODULES fails here.
const everyLazyModuleListed: [
  Exclude<keyof LazyModules, (typeof LAZY_MODULES)[number]>,
] extends [never] ? true : never = true;
void everyLazyModuleListed;

/** Worker threads' modules, by their paths from the project's root. */
export const WORKER_MODULES = [
  "src/verify/worker.ts",
  "src/map/worker.ts",
] as const;

/** A worker thread's module. */
export type WorkerModule = (typeof WORKER_MODULES)[number];

const ROOT = new URL("../", import.meta.url);
const provided = new Map<string, () => Promise<unknown>>();
const workers = new Map<string, URL>();

/**
 * The module `name` (a path from the project's root, e.g.
 * `"src/cli/list.ts"`, listed in {@link LazyModules}), kept out of the
 * start-up module graph, with its own type (type positions are not part of
 * the graph `deno run` builds).
 */
export function lazyImport<K extends keyof LazyModules>(
  name: K,
): Promise<LazyModules[K]> {
  const load = provided.get(name);
  return (load ? load() : import(new URL(name, ROOT).href)) as Promise<
    LazyModules[K]
  >;
}

/** Where the worker module `name` (a path from the project's root) is. */
export function workerUrl(name: WorkerModule): URL {
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
