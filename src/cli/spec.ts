/**
 * The command tree as data: each command family declares its commands,
 * flags and arguments once here, and the parser (argv.ts), the help (help.ts),
 * the shell completions and the man page are all generated from it.
 *
 * @module
 */

import { MAX_JOBS } from "../jobs/count.ts";
import type { Options, ValueType } from "./options.ts";
import type { Output } from "./output.ts";

/** A flag (`--offset N`, `-u`). */
export interface FlagSpec {
  /** The long name without dashes: `offset`. */
  name: string;
  /** A one-letter alias: `u` for `-u`. */
  short?: string;
  brief: string;
  /** `boolean` flags take no value. */
  kind: "boolean" | "value";
  /** The value's name in usage lines: `n`, `file`, `dir`. */
  placeholder?: string;
  /** The allowed values, when fixed. */
  choices?: readonly string[];
  /** The value when the flag is not given. */
  default?: string;
  /** What a value flag holds (default `text`): parsed once, handlers read it typed (options.ts). */
  value?: ValueType;
  /** For counts: the least (default 1) and, for a bounded one, the most and what is counted. */
  min?: number;
  max?: number;
  unit?: string;
}

/** A positional argument. */
export interface ArgSpec {
  name: string;
  brief: string;
  choices?: readonly string[];
  /** It may be left out (only the last ones may be). */
  optional?: boolean;
}

/** What a command's handler receives. */
export interface Invocation {
  /** Flag values by long name, as typed: strings, or booleans for boolean flags. */
  flags: Record<string, string | boolean | undefined>;
  /** The same, parsed by each flag's declared type, defaults included. */
  opt: Options;
  args: string[];
  out: Output;
}

/** A command: `pmemctl map read`. */
export interface CommandSpec {
  name: string;
  brief: string;
  /**
   * What the command does in detail, in paragraphs of plain text: `--help`
   * wraps them after the brief, the man page gives each its own paragraph.
   */
  description?: string[];
  flags: FlagSpec[];
  args: ArgSpec[];
  /** Lines for the man page's EXAMPLES. */
  examples?: string[];
  run: (call: Invocation) => void | Promise<void>;
}

/** A group of commands: `pmemctl map`, or the root. */
export interface GroupSpec {
  name: string;
  brief: string;
  commands: (CommandSpec | GroupSpec)[];
}

/** Whether a node of the tree is a group. */
export function isGroup(node: CommandSpec | GroupSpec): node is GroupSpec {
  return "commands" in node;
}

/** Every command of the tree with its full name (`map read`), in order. */
export function commandsOf(
  group: GroupSpec,
  prefix: string[] = [],
): { path: string[]; command: CommandSpec }[] {
  return group.commands.flatMap((c) =>
    isGroup(c)
      ? commandsOf(c, [...prefix, c.name])
      : [{ path: [...prefix, c.name], command: c }]
  );
}

// --- flags shared by several commands --------------------------------------

/** `--json`. */
export const jsonFlag: FlagSpec = {
  name: "json",
  brief: "print one JSON document",
  kind: "boolean",
};

/** `--offset N` (a size: 4096, 0x1000, 4K, 1M…). */
export const offsetFlag = (brief = "where to start"): FlagSpec => ({
  name: "offset",
  brief: `${brief} (4096, 0x1000, 4K, 1M…)`,
  kind: "value",
  placeholder: "n",
  default: "0",
  value: "size",
});

/** `--length N`. */
export const lengthFlag = (brief: string): FlagSpec => ({
  name: "length",
  brief,
  kind: "value",
  placeholder: "n",
  value: "size",
});

/** `--root DIR`. */
export const rootFlag = (brief: string): FlagSpec => ({
  name: "root",
  brief,
  kind: "value",
  placeholder: "dir",
});

/** `--force`. */
export const forceFlag = (brief: string): FlagSpec => ({
  name: "force",
  brief,
  kind: "boolean",
});

/** The target of map and verify. */
/** `--jobs N` (verify, map). */
export const jobsFlag = (brief: string): FlagSpec => ({
  name: "jobs",
  brief,
  kind: "value",
  placeholder: "n",
  value: "count",
  max: MAX_JOBS,
  unit: "threads",
});

export const targetArg: ArgSpec = {
  name: "path",
  brief: "/dev/pmemN, /dev/daxN.M or a file",
};
