/**
 * Shell completion scripts generated from the command tree, so every
 * command and flag completes as soon as it is declared. Rendering is a pure
 * function of a {@link CompletionCommand} tree.
 *
 * @module
 */

import { type CommandSpec, type GroupSpec, isGroup } from "./spec.ts";

/** One option as completion sees it. */
export interface CompletionOption {
  /** `["-u", "--human"]` */
  flags: string[];
  description: string;
  /** The option consumes the next word. */
  takesValue: boolean;
  /** Allowed values, when fixed. */
  choices?: readonly string[];
}

/** One positional argument. */
export interface CompletionArgument {
  name: string;
  choices?: readonly string[];
}

/** A command with its options, arguments and subcommands. */
export interface CompletionCommand {
  name: string;
  description: string;
  options: CompletionOption[];
  args: CompletionArgument[];
  subcommands: CompletionCommand[];
}

/** The shells `pmemctl completions` supports. */
export const SHELLS = ["bash", "zsh", "fish"] as const;
export type Shell = typeof SHELLS[number];

/** The completion view of the command tree (help and version flags included). */
export function fromSpec(
  group: GroupSpec | CommandSpec,
  root = true,
): CompletionCommand {
  const help: CompletionOption = {
    flags: ["-h", "--help"],
    description: "display help",
    takesValue: false,
  };
  const version: CompletionOption = {
    flags: ["-V", "--version"],
    description: "print the version",
    takesValue: false,
  };
  if (isGroup(group)) {
    return {
      name: group.name,
      description: group.brief,
      options: root ? [version, help] : [help],
      args: [],
      subcommands: group.commands.map((c) => fromSpec(c, false)),
    };
  }
  return {
    name: group.name,
    description: group.brief,
    options: [
      ...group.flags.map((f) => ({
        flags: [f.short && `-${f.short}`, `--${f.name}`].filter(
          (x): x is string => Boolean(x),
        ),
        description: f.brief,
        takesValue: f.kind === "value",
        choices: f.choices,
      })),
      help,
    ],
    args: group.args.map((a) => ({ name: a.name, choices: a.choices })),
    subcommands: [],
  };
}

/** Every command with its full path (`["pmemctl", "map", "info"]`), parents first. */
function walk(
  root: CompletionCommand,
): { path: string; command: CompletionCommand }[] {
  const out: { path: string; command: CompletionCommand }[] = [];
  const visit = (command: CompletionCommand, path: string) => {
    out.push({ path, command });
    for (const sub of command.subcommands) visit(sub, `${path} ${sub.name}`);
  };
  visit(root, root.name);
  return out;
}

const flagsOf = (c: CompletionCommand) => c.options.flatMap((o) => o.flags);
const valuedFlagsOf = (c: CompletionCommand) =>
  c.options.filter((o) => o.takesValue).flatMap((o) => o.flags);
const namesOf = (c: CompletionCommand) => c.subcommands.map((s) => s.name);

/** Single-quotes text for any POSIX-like shell (fish included). */
function quote(text: string): string {
  return `'${text.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
}

/** POSIX single quotes, where a backslash is literal (bash, zsh). */
function shQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/** Renders the completion script for `shell`. */
export function renderCompletions(
  root: CompletionCommand,
  shell: Shell,
): string {
  switch (shell) {
    case "bash":
      return renderBash(root);
    case "zsh":
      return renderZsh(root);
    case "fish":
      return renderFish(root);
  }
}

/**
 * The tables both bash and zsh walk: per command path, its subcommands,
 * flags, flags that take a value, value choices and argument choices.
 */
function shellTables(
  root: CompletionCommand,
  prefix: string,
  describe: boolean,
): string {
  const fn = `_${root.name.replace(/\W/g, "_")}`;
  const rows = {
    subs: [] as string[],
    opts: [] as string[],
    valued: [] as string[],
    choices: [] as string[],
  };
  for (const { path, command } of walk(root)) {
    const subs = describe
      ? command.subcommands.map((s) => `${s.name}:${s.description}`).join("\n")
      : namesOf(command).join(" ");
    rows.subs.push(`  [${shQuote(path)}]=${shQuote(subs)}`);
    const opts = describe
      ? command.options.flatMap((o) =>
        o.flags.map((f) => `${f.replace(/:/g, "\\:")}:${o.description}`)
      ).join("\n")
      : flagsOf(command).join(" ");
    rows.opts.push(`  [${shQuote(path)}]=${shQuote(opts)}`);
    rows.valued.push(
      `  [${shQuote(path)}]=${
        shQuote(` ${valuedFlagsOf(command).join(" ")} `)
      }`,
    );
    for (const o of command.options) {
      if (!o.choices) continue;
      for (const f of o.flags) {
        rows.choices.push(
          `  [${shQuote(`${path} ${f}`)}]=${shQuote(o.choices.join(" "))}`,
        );
      }
    }
    command.args.forEach((a, i) => {
      if (a.choices) {
        rows.choices.push(
          `  [${shQuote(`${path} #${i}`)}]=${shQuote(a.choices.join(" "))}`,
        );
      }
    });
  }
  const table = (name: string, body: string[]) =>
    `${prefix} ${fn}_${name}=(\n${body.join("\n")}\n)`;
  return [
    table("subcommands", rows.subs),
    table("options", rows.opts),
    table("valued", rows.valued),
    table("choices", rows.choices),
  ].join("\n");
}

function renderBash(root: CompletionCommand): string {
  const fn = `_${root.name.replace(/\W/g, "_")}`;
  return `# bash completion for ${root.name}; generated by '${root.name} completions bash'.
# Load it with: source <(${root.name} completions bash)
${shellTables(root, "declare -gA", false)}

${fn}() {
  local cur=\${COMP_WORDS[COMP_CWORD]} path=${
    shQuote(root.name)
  } word i nargs=0 skip=0
  for ((i = 1; i < COMP_CWORD; i++)); do
    word=\${COMP_WORDS[i]}
    if ((skip)); then skip=0; continue; fi
    if [[ $word == -* ]]; then
      [[ $word != *=* && \${${fn}_valued[$path]} == *" $word "* ]] && skip=1
      continue
    fi
    if [[ " \${${fn}_subcommands[$path]} " == *" $word "* ]]; then
      path="$path $word"
      nargs=0
    else
      ((nargs++))
    fi
  done
  local key
  if ((skip)); then
    key="$path \${COMP_WORDS[COMP_CWORD - 1]}"
  elif [[ $cur == -* ]]; then
    mapfile -t COMPREPLY < <(compgen -W "\${${fn}_options[$path]}" -- "$cur")
    return
  elif [[ -n \${${fn}_subcommands[$path]} ]]; then
    mapfile -t COMPREPLY < <(compgen -W "\${${fn}_subcommands[$path]}" -- "$cur")
    return
  else
    key="$path #$nargs"
  fi
  if [[ -n \${${fn}_choices[$key]+set} ]]; then
    mapfile -t COMPREPLY < <(compgen -W "\${${fn}_choices[$key]}" -- "$cur")
  else
    compopt -o filenames 2>/dev/null
    mapfile -t COMPREPLY < <(compgen -f -- "$cur")
  fi
}
complete -F ${fn} ${root.name}
`;
}

function renderZsh(root: CompletionCommand): string {
  const fn = `_${root.name.replace(/\W/g, "_")}`;
  return `#compdef ${root.name}
# zsh completion for ${root.name}; generated by '${root.name} completions zsh'.
# Load it with: source <(${root.name} completions zsh), or save it as _${root.name} in $fpath.
${shellTables(root, "typeset -gA", true)}

${fn}() {
  local path_=${shQuote(root.name)} word key i nargs=0 skip=0
  local -a items
  for ((i = 2; i < CURRENT; i++)); do
    word=\${words[i]}
    if ((skip)); then skip=0; continue; fi
    if [[ $word == -* ]]; then
      [[ $word != *=* && \${${fn}_valued[$path_]} == *" $word "* ]] && skip=1
      continue
    fi
    items=(\${(f)\${${fn}_subcommands[$path_]}})
    if (( \${items[(I)$word:*]} )); then
      path_="$path_ $word"
      nargs=0
    else
      ((nargs++))
    fi
  done
  if ((skip)); then
    key="$path_ \${words[CURRENT - 1]}"
  elif [[ \${words[CURRENT]} == -* ]]; then
    items=(\${(f)\${${fn}_options[$path_]}})
    _describe -t options option items
    return
  elif [[ -n \${${fn}_subcommands[$path_]} ]]; then
    items=(\${(f)\${${fn}_subcommands[$path_]}})
    _describe -t commands command items
    return
  else
    key="$path_ #$nargs"
  fi
  if [[ -n \${${fn}_choices[$key]} ]]; then
    items=(\${(s: :)\${${fn}_choices[$key]}})
    compadd -a items
  else
    _files
  fi
}

if [[ $zsh_eval_context[-1] == loadautofunc ]]; then
  ${fn} "$@"
else
  compdef ${fn} ${root.name}
fi
`;
}

function renderFish(root: CompletionCommand): string {
  const fn = `__${root.name.replace(/\W/g, "_")}`;
  const lines = [
    `# fish completion for ${root.name}; generated by '${root.name} completions fish'.`,
    `# Load it with: ${root.name} completions fish | source`,
    `complete -c ${root.name} -e`,
    "",
    `# Prints the command path of the line being completed, then the count of positional words.`,
    `function ${fn}_state`,
    `    set -l path ${quote(root.name)}`,
    "    set -l nargs 0",
    "    set -l skip 0",
    "    for word in (commandline -opc)[2..-1]",
    "        if test $skip -eq 1",
    "            set skip 0",
    "            continue",
    "        end",
    "        if string match -q -- '-*' $word",
    "            if not string match -q -- '*=*' $word",
    '                switch "$path $word"',
  ];
  const valued = walk(root).flatMap(({ path, command }) =>
    valuedFlagsOf(command).map((f) => `${path} ${f}`)
  );
  if (valued.length > 0) {
    lines.push(
      `                    case ${valued.map(quote).join(" ")}`,
      "                        set skip 1",
    );
  }
  lines.push(
    "                end",
    "            end",
    "            continue",
    "        end",
    '        switch "$path $word"',
  );
  const subPaths = walk(root).slice(1).map(({ path }) => path);
  if (subPaths.length > 0) {
    lines.push(
      `            case ${subPaths.map(quote).join(" ")}`,
      '                set path "$path $word"',
      "                set nargs 0",
    );
  }
  lines.push(
    "            case '*'",
    "                set nargs (math $nargs + 1)",
    "        end",
    "    end",
    '    echo "$path"',
    "    echo $nargs",
    "end",
    "",
    `function ${fn}_at`,
    `    set -l state (${fn}_state)`,
    '    test "$state[1]" = "$argv[1]"',
    "    and begin",
    "        test (count $argv) -lt 2",
    '        or test "$state[2]" = "$argv[2]"',
    "    end",
    "end",
    "",
    `complete -c ${root.name} -f`,
  );
  for (const { path, command } of walk(root)) {
    const at = (extra = "") => `-n ${quote(`${fn}_at ${quote(path)}${extra}`)}`;
    for (const sub of command.subcommands) {
      lines.push(
        `complete -c ${root.name} ${at()} -a ${quote(sub.name)} -d ${
          quote(sub.description)
        }`,
      );
    }
    for (const o of command.options) {
      const names = o.flags.map((f) =>
        f.startsWith("--") ? `-l ${f.slice(2)}` : `-s ${f.slice(1)}`
      ).join(" ");
      const value = !o.takesValue
        ? ""
        : o.choices
        ? ` -x -a ${quote(o.choices.join(" "))}`
        : " -r -F";
      lines.push(
        `complete -c ${root.name} ${at()} ${names}${value} -d ${
          quote(o.description)
        }`,
      );
    }
    if (command.subcommands.length === 0) {
      command.args.forEach((a, i) => {
        lines.push(
          a.choices
            ? `complete -c ${root.name} ${at(` ${i}`)} -a ${
              quote(a.choices.join(" "))
            }`
            : `complete -c ${root.name} ${at(` ${i}`)} -F`,
        );
      });
    }
  }
  return lines.join("\n") + "\n";
}
