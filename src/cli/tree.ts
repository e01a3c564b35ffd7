/**
 * The whole command tree: one module per command family, gathered here.
 * `completions` and `man` are generated from this same tree.
 *
 * @module
 */

import { doctor } from "./doctor.ts";
import { exportGroup } from "./export.ts";
import { kmod } from "./kmod.ts";
import { list } from "./list.ts";
import { map } from "./map.ts";
import { planGroup } from "./plan.ts";
import type { GroupSpec } from "./spec.ts";
import { verifyCommand } from "./verify.ts";

/** pmemctl's commands, for pmemctl version `version`. */
export function commandTree(version: string): GroupSpec {
  const root: GroupSpec = {
    name: "pmemctl",
    brief:
      "find, map and verify Linux persistent memory: /dev/pmemN, /dev/daxN.M and DAX files",
    commands: [],
  };
  root.commands.push(
    list,
    map,
    verifyCommand,
    kmod,
    planGroup,
    doctor,
    exportGroup,
    {
      name: "completions",
      brief: "print a shell completion script",
      flags: [],
      args: [{
        name: "shell",
        brief: "the shell to complete for",
        choices: ["bash", "zsh", "fish"],
      }],
      examples: [
        "source <(pmemctl completions bash)",
        "pmemctl completions fish | source",
      ],
      async run({ args: [shell], out }) {
        const { fromSpec, renderCompletions } = await import(
          "./completions.ts"
        );
        out.stdout(
          renderCompletions(fromSpec(root), shell as "bash" | "zsh" | "fish"),
        );
      },
    },
    {
      name: "man",
      brief: "print the man page (roff), generated from the command tree",
      flags: [],
      args: [],
      examples: ["pmemctl man > pmemctl.1 && man -l pmemctl.1"],
      async run({ out }) {
        const { renderMan } = await import("./man.ts");
        out.stdout(renderMan(root, version, MAN_DATE));
      },
    },
  );
  return root;
}

/** The man page's date: the release's, fixed so the page is reproducible. */
export const MAN_DATE = "2026-11-26";
