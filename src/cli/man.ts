/**
 * `pmemctl man`: the man page (roff, man(7) macros), generated from the
 * command tree so every command, flag and exit code in it is the one the
 * parser knows. Rendering is a pure function.
 *
 * @module
 */

import type { CommandSpec, GroupSpec } from "./spec.ts";
import { commandsOf } from "./spec.ts";

/** Text made safe for roff: backslashes, leading dots and quotes, hyphens, non-ASCII. */
export function roff(text: string): string {
  return text
    .replace(/\\/g, "\\e")
    .replace(/-/g, "\\-")
    .replace(/^([.'])/gm, "\\&$1")
    // Anything past ASCII as a named glyph: groff reads the page as Latin-1.
    .replace(
      /[^ -~\n\t]/gu,
      (c) =>
        `\\[u${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")}]`,
    );
}

function synopsis(path: string[], c: CommandSpec): string {
  const flags = c.flags.map((f) => {
    const name = `\\fB\\-\\-${f.name}\\fR`;
    return f.kind === "boolean"
      ? `[${name}]`
      : `[${name} \\fI${roff(f.placeholder ?? "value")}\\fR]`;
  });
  const args = c.args.map((a) =>
    a.optional ? `[\\fI${roff(a.name)}\\fR]` : `\\fI${roff(a.name)}\\fR`
  );
  return [`\\fBpmemctl ${roff(path.join(" "))}\\fR`, ...flags, ...args].join(
    " ",
  );
}

const EXIT_CODES: [number, string][] = [
  [0, "success"],
  [
    1,
    "the check ran and found a problem (mismatch, unreadable range, region that failed to appear)",
  ],
  [2, "usage error or invalid input"],
  [3, "system error (permission, missing device, busy, I/O error)"],
];

/** The man page of the tree `root`, version `version`, dated `date` (YYYY-MM-DD). */
export function renderMan(
  root: GroupSpec,
  version: string,
  date: string,
): string {
  const lines: string[] = [
    `.TH PMEMCTL 1 "${date}" "pmemctl ${roff(version)}" "User Commands"`,
    ".SH NAME",
    `pmemctl \\- ${roff(root.brief)}`,
    ".SH SYNOPSIS",
  ];
  const commands = commandsOf(root);
  for (const { path, command } of commands) {
    lines.push(".PP", synopsis(path, command));
  }
  lines.push(
    ".SH DESCRIPTION",
    "pmemctl finds persistent memory (e820 type\\-12 and type\\-7 ranges, " +
      "/dev/pmemN, /dev/daxN.M, files on DAX filesystems), moves bytes in and out " +
      "of it through mmap, and proves it holds data across power cycles.",
    "Every failure is one line on standard error, " +
      "\\fBpmemctl: \\fIwhat\\fB: \\fIwhy\\fR, and one of the exit codes below.",
    ".SH COMMANDS",
  );
  for (const { path, command } of commands) {
    lines.push(`.SS "${roff(path.join(" "))}"`, roff(command.brief) + ".");
    for (const paragraph of command.description ?? []) {
      lines.push(".PP", roff(paragraph));
    }
    for (const a of command.args) {
      lines.push(".TP", `\\fI${roff(a.name)}\\fR`, roff(a.brief));
    }
    for (const f of command.flags) {
      const names = [
        f.short ? `\\fB\\-${f.short}\\fR` : undefined,
        `\\fB\\-\\-${f.name}\\fR`,
      ].filter(Boolean).join(", ");
      const value = f.kind === "value"
        ? ` \\fI${roff(f.placeholder ?? "value")}\\fR`
        : "";
      const extra = [
        f.choices ? `one of ${roff(f.choices.join(", "))}` : undefined,
        f.default !== undefined ? `default ${roff(f.default)}` : undefined,
      ].filter(Boolean).join("; ");
      lines.push(
        ".TP",
        `${names}${value}`,
        roff(f.brief) + (extra ? ` (${extra})` : "") + ".",
      );
    }
  }
  lines.push(".SH EXIT STATUS");
  for (const [code, what] of EXIT_CODES) {
    lines.push(".TP", `\\fB${code}\\fR`, roff(what) + ".");
  }
  lines.push(".SH EXAMPLES");
  for (const { command } of commands) {
    for (const example of command.examples ?? []) {
      lines.push(".PP", ".nf", roff(example), ".fi");
    }
  }
  lines.push(
    ".SH ENVIRONMENT",
    ".TP",
    "\\fBPMEMCTL_DEBUG\\fR=1",
    "Print a stack trace after an error.",
    ".TP",
    "\\fBPMEMCTL_LIBPMEM\\fR",
    "The libpmem library to load instead of libpmem.so.1.",
    ".TP",
    "\\fBNO_COLOR\\fR",
    "Honoured.",
    ".SH SEE ALSO",
    "\\fBndctl\\fR(1), \\fBdaxctl\\fR(1), \\fBdaxio\\fR(1)",
  );
  return lines.join("\n") + "\n";
}
