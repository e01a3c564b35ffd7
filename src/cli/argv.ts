/**
 * The argument parser: a pure function from argv and the command tree of
 * spec.ts to what to do (run a command, print help or the version) or one
 * usage error. No library: the tree is already data, and each parser
 * measured (commander, @stricli/core) cost more start-up than the whole
 * budget of `pmemctl list` allows (see bench/startup.ts and the README).
 *
 * Accepted: `--flag value`, `--flag=value`, `-u` (a flag's one-letter
 * alias), `--` (what follows is positional), `-h`/`--help` anywhere before
 * `--`, and `--version`/`-V`/`-v` at the root. Everything else is a usage
 * error that names the closest command or flag.
 *
 * @module
 */

import {
  type CommandSpec,
  type FlagSpec,
  type GroupSpec,
  type Invocation,
  isGroup,
} from "./spec.ts";

/** What argv asks for. */
export type Parsed =
  | {
    kind: "run";
    path: string[];
    command: CommandSpec;
    flags: Invocation["flags"];
    args: string[];
  }
  | { kind: "help"; path: string[]; node: CommandSpec | GroupSpec }
  | { kind: "version" }
  | { kind: "usage"; path: string[]; message: string };

/** Optimal string alignment distance (Damerau–Levenshtein, adjacent swaps). */
export function editDistance(a: string, b: string): number {
  const d: number[][] = [];
  for (let i = 0; i <= a.length; i++) {
    d.push([i]);
    for (let j = 1; j <= b.length; j++) {
      if (i === 0) {
        d[i][j] = j;
        continue;
      }
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(
        d[i - 1][j] + 1,
        d[i][j - 1] + 1,
        d[i - 1][j - 1] + cost,
      );
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.length][b.length];
}

/** `; did you mean 'x'?` for the closest of `names`, or nothing when none is close. */
export function suggest(word: string, names: string[], prefix = ""): string {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const name of names) {
    const distance = editDistance(word, name);
    if (distance < bestDistance) [best, bestDistance] = [name, distance];
  }
  const close = best !== undefined &&
    (bestDistance <= Math.max(1, Math.floor(best.length / 3)) ||
      best.startsWith(word) && word.length >= 2);
  return close ? `; did you mean '${prefix}${best}'?` : "";
}

const HELP = new Set(["-h", "--help"]);
const VERSION = new Set(["-V", "-v", "--version"]);

/** Parses `argv` (without the program name) against the tree `root`. */
export function parseArgv(root: GroupSpec, argv: string[]): Parsed {
  let node: CommandSpec | GroupSpec = root;
  const path: string[] = [];
  let i = 0;
  while (isGroup(node)) {
    const word: string | undefined = argv[i++];
    const names = node.commands.map((c) => c.name);
    if (word === undefined) {
      if (path.length === 0) return { kind: "help", path, node };
      return {
        kind: "usage",
        path,
        message: `${path.join(" ")}: expected a command (${names.join(", ")})`,
      };
    }
    if (HELP.has(word)) return { kind: "help", path, node };
    if (path.length === 0 && VERSION.has(word)) return { kind: "version" };
    const next: CommandSpec | GroupSpec | undefined = node.commands.find((c) =>
      c.name === word
    );
    if (next === undefined) {
      const where = path.length ? `${path.join(" ")} ` : "";
      const what = word.startsWith("-") ? "option" : "command";
      return {
        kind: "usage",
        path,
        message: `unknown ${what} '${where}${word}'${
          word.startsWith("-") ? "" : suggest(word, names)
        }`,
      };
    }
    path.push(word);
    node = next;
  }
  return parseCommand(node, path, argv.slice(i));
}

function parseCommand(
  command: CommandSpec,
  path: string[],
  words: string[],
): Parsed {
  const flags: Invocation["flags"] = {};
  const args: string[] = [];
  const usage = (message: string): Parsed => ({
    kind: "usage",
    path,
    message: `${path.join(" ")}: ${message}`,
  });
  const byName = new Map(command.flags.map((f) => [f.name, f]));
  const byShort = new Map(
    command.flags.filter((f) => f.short).map((f) => [f.short!, f]),
  );
  let positionalOnly = false;
  for (let i = 0; i < words.length; i++) {
    const word = words[i];
    if (positionalOnly || !word.startsWith("-") || word === "-") {
      args.push(word);
      continue;
    }
    if (word === "--") {
      positionalOnly = true;
      continue;
    }
    if (HELP.has(word)) return { kind: "help", path, node: command };
    let flag: FlagSpec | undefined;
    let inline: string | undefined;
    if (word.startsWith("--")) {
      const eq = word.indexOf("=");
      const name = eq < 0 ? word.slice(2) : word.slice(2, eq);
      if (eq >= 0) inline = word.slice(eq + 1);
      flag = byName.get(name);
      if (!flag) {
        return usage(
          `unknown option --${name}${suggest(name, [...byName.keys()], "--")}`,
        );
      }
    } else {
      flag = byShort.get(word.slice(1));
      if (!flag) {
        // `-json` for `--json`; one-letter typos get no guess.
        const guess = word.length > 2
          ? suggest(word.slice(1), [...byName.keys()], "--")
          : "";
        return usage(`unknown option ${word}${guess}`);
      }
    }
    const spelled = `--${flag.name}`;
    if (flags[flag.name] !== undefined) {
      return usage(`${spelled} is given twice`);
    }
    if (flag.kind === "boolean") {
      if (inline !== undefined) return usage(`${spelled} takes no value`);
      flags[flag.name] = true;
      continue;
    }
    const value = inline ?? words[++i];
    if (value === undefined) {
      return usage(`${spelled} needs a value (${flag.placeholder ?? "value"})`);
    }
    if (flag.choices && !flag.choices.includes(value)) {
      return usage(
        `${spelled}: '${value}' is not one of ${flag.choices.join(", ")}`,
      );
    }
    flags[flag.name] = value;
  }
  for (const flag of command.flags) {
    if (flags[flag.name] === undefined && flag.default !== undefined) {
      flags[flag.name] = flag.default;
    }
  }
  if (args.length > command.args.length) {
    return usage(`unexpected argument '${args[command.args.length]}'`);
  }
  const required = command.args.filter((a) => !a.optional).length;
  if (args.length < required) {
    return usage(`missing argument <${command.args[args.length].name}>`);
  }
  for (const [n, spec] of command.args.entries()) {
    if (n >= args.length) break;
    if (spec.choices && !spec.choices.includes(args[n])) {
      return usage(
        `<${spec.name}>: '${args[n]}' is not one of ${spec.choices.join(", ")}`,
      );
    }
  }
  return { kind: "run", path, command, flags, args };
}
