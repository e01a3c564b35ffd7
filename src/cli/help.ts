/**
 * `--help` text for any node of the command tree, generated from spec.ts
 * like the completions and the man page.
 *
 * @module
 */

import {
  type CommandSpec,
  type FlagSpec,
  type GroupSpec,
  isGroup,
} from "./spec.ts";

function flagUsage(f: FlagSpec): string {
  const value = f.choices ? f.choices.join("|") : f.placeholder ?? "value";
  return f.kind === "boolean" ? `[--${f.name}]` : `[--${f.name} ${value}]`;
}

/** One usage line: `pmemctl map read [--offset n] … <path>`. */
export function usageLine(path: string[], node: CommandSpec | GroupSpec) {
  const words = ["pmemctl", ...path];
  if (isGroup(node)) {
    words.push(`${node.commands.map((c) => c.name).join("|")} ...`);
  } else {
    words.push(
      ...node.flags.map(flagUsage),
      ...node.args.map((a) => a.optional ? `[<${a.name}>]` : `<${a.name}>`),
    );
  }
  return words.join(" ");
}

function table(rows: [string, string][]): string[] {
  const width = Math.max(...rows.map(([left]) => left.length));
  return rows.map(([left, right]) => `  ${left.padEnd(width)}  ${right}`);
}

function flagRow(f: FlagSpec): [string, string] {
  const names = f.short ? `-${f.short}, --${f.name}` : `    --${f.name}`;
  const value = f.kind === "boolean" ? "" : ` ${f.placeholder ?? "value"}`;
  const notes = [
    f.choices ? f.choices.join("|") : "",
    f.default !== undefined ? `default: ${f.default}` : "",
  ].filter(Boolean).join("; ");
  return [`${names}${value}`, notes ? `${f.brief} [${notes}]` : f.brief];
}

/** The help for `path` (`[]` for the root, `["map", "read"]`…). */
export function renderHelp(
  path: string[],
  node: CommandSpec | GroupSpec,
): string {
  const lines = ["USAGE"];
  const help: FlagSpec = {
    name: "help",
    short: "h",
    brief: "print this help",
    kind: "boolean",
  };
  if (isGroup(node)) {
    for (const c of node.commands) {
      lines.push(`  ${usageLine([...path, c.name], c)}`);
    }
    if (path.length === 0) {
      lines.push("  pmemctl --help", "  pmemctl --version");
    }
    lines.push("", node.brief, "", "COMMANDS");
    lines.push(...table(node.commands.map((c) => [c.name, c.brief])));
    lines.push("", "FLAGS");
    const flags = [help];
    if (path.length === 0) {
      flags.push({
        name: "version",
        short: "V",
        brief: "print pmemctl's version",
        kind: "boolean",
      });
    }
    lines.push(...table(flags.map(flagRow)));
    if (path.length > 0) {
      lines.push(
        "",
        `'pmemctl ${path.join(" ")} <command> --help' describes each command.`,
      );
    }
  } else {
    lines.push(`  ${usageLine(path, node)}`, "", node.brief);
    for (const paragraph of node.description ?? []) {
      lines.push("", ...wrap(paragraph, WIDTH));
    }
    lines.push("", "FLAGS");
    lines.push(...table([...node.flags, help].map(flagRow)));
    if (node.args.length > 0) {
      lines.push("", "ARGUMENTS");
      lines.push(
        ...table(node.args.map((a) => [
          a.name,
          a.choices ? `${a.brief} [${a.choices.join("|")}]` : a.brief,
        ])),
      );
    }
    if (node.examples?.length) {
      lines.push("", "EXAMPLES", ...node.examples.map((e) => `  ${e}`));
    }
  }
  return `${lines.join("\n")}\n`;
}

/** Help's line width for paragraphs. */
const WIDTH = 78;

/** `text` in lines of at most `width` characters, broken at spaces (a longer word stands alone). */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  if (line) lines.push(line);
  return lines;
}
