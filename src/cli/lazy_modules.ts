/**
 * Every module pmemctl imports lazily (src/lazy.ts), by its path from the
 * project's root: once with its type, once at run time, and the worker
 * threads' modules. Here, at the top of the import graph, because it names
 * modules of every floor; deno task compile (tools/compile.ts) and the
 * .deb's bundle (tools/bundle.ts) include exactly these.
 *
 * @module
 */

import { lazyImport } from "../lazy.ts";

/** Each lazily imported module by its path from the project's root, with its type. */
export interface LazyModules {
  "ffi/libc.ts": typeof import("../../ffi/libc.ts");
  "src/cli/doctor.ts": typeof import("./doctor.ts");
  "src/cli/export.ts": typeof import("./export.ts");
  "src/cli/help.ts": typeof import("./help.ts");
  "src/cli/kmod.ts": typeof import("./kmod.ts");
  "src/cli/list.ts": typeof import("./list.ts");
  "src/cli/map.ts": typeof import("./map.ts");
  "src/cli/map_run.ts": typeof import("./map_run.ts");
  "src/cli/plan.ts": typeof import("./plan.ts");
  "src/cli/tree.ts": typeof import("./tree.ts");
  "src/cli/verify.ts": typeof import("./verify.ts");
  "src/list/probe.ts": typeof import("../list/probe.ts");
  "src/state/results.ts": typeof import("../state/results.ts");
  "src/verify/mode_rw.ts": typeof import("../verify/mode_rw.ts");
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

/** Worker threads' modules, by their paths from the project's root (jobs/pool.ts starts them). */
export const WORKER_MODULES = [
  "src/verify/worker.ts",
  "src/map/worker.ts",
] as const;

/** The lazily imported module `name`, typed by its name alone. */
export function load<K extends keyof LazyModules>(
  name: K,
): Promise<LazyModules[K]> {
  return lazyImport<LazyModules[K]>(name);
}
