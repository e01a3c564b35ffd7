/**
 * Each command family by its first word, loaded alone: `pmemctl list`
 * loads list's module and nothing of map, verify or export, and none of
 * them is even in the start-up module graph (see src/lazy.ts). The whole
 * tree (tree.ts) is loaded only for what needs all of it: help at the top,
 * completions, the man page, an unknown first word. A test keeps the two
 * in step.
 *
 * @module
 */

import { load } from "./lazy_modules.ts";
import type { CommandSpec, GroupSpec } from "./spec.ts";

/** Loaders of the families `cli.ts` may run without the rest of the tree. */
export const FAMILIES: Readonly<
  Record<string, () => Promise<CommandSpec | GroupSpec>>
> = {
  list: async () => (await load("src/cli/list.ts")).list,
  map: async () => (await load("src/cli/map.ts")).map,
  verify: async () =>
    (await load("src/cli/verify.ts"))
      .verifyCommand,
  kmod: async () => (await load("src/cli/kmod.ts")).kmod,
  plan: async () =>
    (await load("src/cli/plan.ts"))
      .planGroup,
  doctor: async () =>
    (await load("src/cli/doctor.ts"))
      .doctor,
  export: async () =>
    (await load("src/cli/export.ts"))
      .exportGroup,
};

/** The whole tree (tree.ts), for help at the top, completions, the man page and unknown words. */
export async function wholeTree(version: string): Promise<GroupSpec> {
  const { commandTree } = await load(
    "src/cli/tree.ts",
  );
  return commandTree(version);
}

/** The root for a run of one family: the tree's name, that family alone. */
export function familyRoot(family: CommandSpec | GroupSpec): GroupSpec {
  return {
    name: "pmemctl",
    brief: "find, map and verify Linux persistent memory",
    commands: [family],
  };
}
