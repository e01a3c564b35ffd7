/**
 * The parser: the command tree of spec.ts turned into a @stricli/core
 * application (chosen by start-up time: it imports no Node built-in, so
 * `pmemctl --version` costs what an empty `deno run` costs; see
 * bench/startup.ts), and run with pmemctl's own error reporting: one
 * `pmemctl: <what>: <why>` line and the spec's exit code.
 *
 * @module
 */

import {
  buildApplication,
  buildCommand,
  buildRouteMap,
  run as stricliRun,
} from "@stricli/core";
import { ExitCode, PmemctlError } from "../errors.ts";
import { escapeControls } from "../parse/numbers.ts";
import type { Output } from "./output.ts";
import {
  type CommandSpec,
  type FlagSpec,
  type GroupSpec,
  isGroup,
} from "./spec.ts";

/** What stricli passes to every command: the output seam, and the error a handler threw. */
interface Context {
  process: {
    stdout: { write(text: string): void };
    stderr: { write(text: string): void };
    exitCode?: number | string | null;
  };
  out: Output;
  error?: unknown;
}

// deno-lint-ignore no-explicit-any
type Loose = any;

function flagParameter(f: FlagSpec): Loose {
  if (f.kind === "boolean") {
    return {
      kind: "boolean",
      brief: f.brief,
      optional: true,
      withNegated: false,
    };
  }
  if (f.choices) {
    return {
      kind: "enum",
      values: f.choices,
      brief: f.brief,
      ...(f.default !== undefined
        ? { default: f.default }
        : { optional: true }),
    };
  }
  return {
    kind: "parsed",
    // Values stay text: each command parses its own (sizes, paths), so its
    // errors name the flag in pmemctl's words.
    parse: String,
    brief: f.brief,
    placeholder: f.placeholder ?? "value",
    ...(f.default !== undefined ? { default: f.default } : { optional: true }),
  };
}

function argParameter(
  a: { name: string; brief: string; choices?: readonly string[] },
): Loose {
  return {
    brief: a.brief,
    placeholder: a.name,
    parse: a.choices
      ? (text: string) => {
        if (!a.choices!.includes(text)) {
          throw new Error(
            `'${text}' is invalid for argument '${a.name}' (choose ${
              a.choices!.join(", ")
            })`,
          );
        }
        return text;
      }
      : String,
  };
}

function command(spec: CommandSpec): Loose {
  const flags = Object.fromEntries(
    spec.flags.map((f) => [f.name, flagParameter(f)]),
  );
  const aliases = Object.fromEntries(
    spec.flags.filter((f) => f.short).map((f) => [f.short!, f.name]),
  );
  return buildCommand({
    docs: { brief: spec.brief },
    parameters: {
      flags,
      aliases,
      positional: { kind: "tuple", parameters: spec.args.map(argParameter) },
    },
    async func(this: Context, values: Loose, ...args: string[]) {
      try {
        await spec.run({ flags: values, args, out: this.out });
      } catch (error) {
        // Reported by run() below, in pmemctl's format.
        this.error = error;
      }
    },
  } as Loose);
}

function routes(group: GroupSpec): Loose {
  return buildRouteMap({
    docs: { brief: group.brief },
    routes: Object.fromEntries(
      group.commands.map((c) => [c.name, isGroup(c) ? routes(c) : command(c)]),
    ),
  } as Loose);
}

/** Builds the application for the tree `root`. */
export function buildApp(root: GroupSpec, version: string): Loose {
  return buildApplication(routes(root), {
    name: root.name,
    versionInfo: { currentVersion: version },
    scanner: { caseStyle: "original" },
    documentation: { disableAnsiColor: true },
  } as Loose);
}

/** Prints one `pmemctl: <what>: <why>` line for `error` and returns its exit code. */
export function report(error: unknown, out: Output): number {
  const debug = Deno.env.get("PMEMCTL_DEBUG") === "1";
  if (error instanceof PmemctlError) {
    out.stderr(
      `pmemctl: ${escapeControls(error.message).replace(/\n/g, " ")}\n`,
    );
    if (debug) out.stderr(`${error.stack}\n`);
    return error.exitCode;
  }
  if (error instanceof Deno.errors.BrokenPipe) return ExitCode.ok;
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof Deno.errors.PermissionDenied) {
    out.stderr(`pmemctl: permission denied: ${message.split("\n")[0]}\n`);
    return ExitCode.system;
  }
  // A bug of pmemctl's own: say so, in one line.
  const what = error instanceof Error ? error.name : "error";
  const hint = debug ? "" : " (PMEMCTL_DEBUG=1 shows where)";
  out.stderr(
    `pmemctl: internal error: ${what}: ${message.split("\n")[0]}${hint}\n`,
  );
  if (debug && error instanceof Error) out.stderr(`${error.stack}\n`);
  return ExitCode.system;
}

/**
 * Parses `args` against `app` and runs the command. Usage errors become
 * one `pmemctl: usage: …` line and exit 2; a handler's error is reported
 * by {@link report}.
 */
export async function runApp(
  app: Loose,
  args: string[],
  out: Output,
): Promise<number> {
  let errText = "";
  const context: Context = {
    process: {
      stdout: { write: (text: string) => out.stdout(text) },
      // stricli writes its own usage errors here: collected, then reworded.
      stderr: { write: (text: string) => (errText += text) },
    },
    out,
  };
  await stricliRun(app, args, context as Loose);
  if (context.error !== undefined) return report(context.error, out);
  const code = Number(context.process.exitCode ?? 0);
  if (code === 0 && errText === "") return ExitCode.ok;
  const why = errText.replace(/\s+/g, " ").trim() || `exit code ${code}`;
  out.stderr(`pmemctl: usage: ${escapeControls(why)} (see 'pmemctl --help')\n`);
  return ExitCode.usage;
}
