#!/usr/bin/env -S deno run -A
/**
 * pmemctl's command line: the command tree, and the one place that prints
 * errors and chooses exit codes (`pmemctl: <what>: <why>`; 2 usage, 3 system).
 *
 * @module
 */

import {
  Argument,
  Command,
  CommanderError,
  Option,
} from "@commander-js/extra-typings";
import type { Command as PlainCommand } from "commander";
import denoJson from "./deno.json" with { type: "json" };
import { fromCommander, renderCompletions, SHELLS } from "./src/completions.ts";
import {
  CheckFailedError,
  ExitCode,
  PmemctlError,
  SystemError,
  UsageError,
} from "./src/errors.ts";
import { gather } from "./src/list/gather.ts";
import { joinRegions } from "./src/list/join.ts";
import { listDocument, listTable } from "./src/list/render.ts";
import { ProgressReporter } from "./src/map/progress.ts";
import { Target } from "./src/map/target.ts";
import {
  readRange,
  type Stream,
  writeRange,
  zeroRange,
} from "./src/map/transfer.ts";
import { hex, parseSize } from "./src/units.ts";
import { escapeControls } from "./src/parse/numbers.ts";
import { CAPS, readStdinCapped } from "./src/safety/bounded.ts";
import { Interrupts, interruptsFor } from "./src/safety/interrupt.ts";
import { refuseStream, refuseTarget } from "./src/safety/identity.ts";
import { MODES, verify, type VerifyMode } from "./src/verify/run.ts";
import { buildModule, kmodStatus, writeSource } from "./src/kmod/kmod.ts";
import {
  constants as C,
  FileHandle,
  fstatx,
  lseek,
  OsError,
} from "./ffi/mod.ts";

/** pmemctl's version, from deno.json. */
export const VERSION: string = denoJson.version;

/** Where the CLI writes; tests pass their own. */
export interface Output {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

const encoder = new TextEncoder();

function writeAll(
  file: { writeSync(p: Uint8Array): number },
  text: string,
): void {
  const bytes = encoder.encode(text);
  for (let done = 0; done < bytes.length;) {
    done += file.writeSync(bytes.subarray(done));
  }
}

/** The process's own stdout and stderr. */
export const processOutput: Output = {
  stdout: (text) => writeAll(Deno.stdout, text),
  stderr: (text) => writeAll(Deno.stderr, text),
};

/** Builds the command tree. */
export function buildProgram(out: Output = processOutput) {
  const program = new Command()
    .name("pmemctl")
    .description(
      "Find, map and verify Linux persistent memory: /dev/pmemN, /dev/daxN.M and DAX files.",
    )
    .version(VERSION, "-V, --version", "print the version")
    .helpOption("-h, --help", "display help")
    .exitOverride()
    .configureOutput({
      writeOut: out.stdout,
      writeErr: out.stderr,
      // Errors are printed once, in pmemctl's format, by run().
      outputError: () => {},
    })
    .showSuggestionAfterError(true);

  program
    .command("list")
    .description(
      "find every persistent-memory range and join what each source says about it",
    )
    .option("--json", "print one JSON document")
    .option(
      "-u, --human",
      'sizes as "256.00 MiB (268.44 MB)" and hex addresses in JSON',
    )
    .option(
      "--root <dir>",
      "read proc/, sys/ and dev/ under DIR (a captured tree, a sosreport)",
    )
    .option("--dmesg <file>", "read the kernel log from FILE, or - for stdin")
    .option("--cmdline <file>", "read the kernel command line from FILE")
    .action((options) => {
      if (options.root !== undefined) {
        let isDir = false;
        try {
          isDir = Deno.statSync(options.root).isDirectory;
        } catch { /* reported below */ }
        if (!isDir) {
          throw new UsageError(`--root ${options.root}`, "not a directory");
        }
      }
      const stdinText = options.dmesg === "-"
        ? readStdinCapped(CAPS.log, "--dmesg -")
        : undefined;
      const gathered = gather({ ...options, stdinText });
      const result = joinRegions(gathered.obs);
      result.warnings.unshift(...gathered.warnings);
      if (options.json) {
        out.stdout(
          JSON.stringify(
            listDocument(result, options.human ?? false),
            null,
            2,
          ) + "\n",
        );
      } else {
        out.stdout(escapeControls(listTable(result)));
      }
      for (const w of result.warnings) {
        out.stderr(`pmemctl: warning: ${escapeControls(w)}\n`);
      }
      if (result.failed > 0) {
        const n = result.failed;
        throw new CheckFailedError(
          "list",
          `${n} memmap= request${
            n > 1 ? "s" : ""
          } did not become a region (see warnings)`,
        );
      }
    });

  const map = program
    .command("map")
    .description(
      "move bytes through mmap of /dev/pmemN, /dev/daxN.M and DAX files",
    );

  map
    .command("info")
    .description(
      "say what a target is, how it maps and how writes become durable",
    )
    .argument("<path>", "/dev/pmemN, /dev/daxN.M or a file")
    .option("--json", "print one JSON document")
    .action((path, options) => {
      using target = Target.open(path, "read", "map info", false);
      const info = target.info();
      if (options.json) out.stdout(JSON.stringify(info, null, 2) + "\n");
      else {
        for (const [k, v] of Object.entries(info)) {
          if (k !== "warnings") out.stdout(`${k}: ${v}\n`);
        }
      }
      for (const w of info.warnings) out.stderr(`pmemctl: warning: ${w}\n`);
    });

  map
    .command("read")
    .description("copy bytes of a target to stdout or --output")
    .argument("<path>", "/dev/pmemN, /dev/daxN.M or a file")
    .option("--offset <n>", "where to start (4096, 0x1000, 4K, 1M…)", "0")
    .option("--length <n>", "how many bytes (default: to the end)")
    .option("--output <file>", "write to FILE instead of stdout")
    .action(async (path, options) => {
      const offset = parseSize(options.offset, "--offset");
      const length = options.length !== undefined
        ? parseSize(options.length, "--length")
        : undefined;
      if (!options.output && Deno.stdout.isTerminal()) {
        throw new UsageError(
          "map read",
          "stdout is a terminal: redirect it or pass --output FILE",
        );
      }
      using target = Target.open(path, "read", "map read");
      const todo = length ?? Math.max(0, target.size - offset);
      target.checkRange(offset, todo);
      // Before the output is opened (and truncated): it must not be the target.
      if (options.output) refuseTarget(target, options.output, "--output");
      else refuseStream(target, 1, "stdout");
      using output = options.output
        ? new FileHandle(
          options.output,
          C.O_WRONLY | C.O_CREAT | C.O_TRUNC,
          0o644,
        )
        : undefined;
      const stream: Stream = output
        ? { fd: output.fd, path: options.output! }
        : { fd: 1, path: "stdout" };
      const progress = new ProgressReporter(todo);
      try {
        using signals = interruptsFor(stream.fd, stream.path);
        await readRange(
          target,
          offset,
          todo,
          stream,
          (n) => progress.update(n),
          signals && (() => signals.poll()),
        );
      } catch (e) {
        // The reader went away (a closed pipe): not an error of ours.
        if (!(e instanceof OsError && e.code === "EPIPE" && !output)) throw e;
      } finally {
        progress.finish();
      }
    });

  map
    .command("write")
    .description("copy stdin or --input into a target, durable before exit 0")
    .argument("<path>", "/dev/pmemN, /dev/daxN.M or a file")
    .option("--offset <n>", "where to start (4096, 0x1000, 4K, 1M…)", "0")
    .option("--length <n>", "how many bytes (default: all of the input)")
    .option("--input <file>", "read from FILE instead of stdin")
    .option("--force", "overwrite a filesystem or swap signature")
    .action(async (path, options) => {
      const offset = parseSize(options.offset, "--offset");
      let length = options.length !== undefined
        ? parseSize(options.length, "--length")
        : undefined;
      if (!options.input && Deno.stdin.isTerminal()) {
        throw new UsageError(
          "map write",
          "stdin is a terminal: pipe the data in or pass --input FILE",
        );
      }
      using input = options.input
        ? new FileHandle(options.input, C.O_RDONLY)
        : undefined;
      const stream: Stream = input
        ? { fd: input.fd, path: options.input! }
        : { fd: 0, path: "stdin" };
      // A regular file's size is known up front: check the whole range before
      // writing anything. Stdin may be a file a reader already took bytes of.
      // Files of size 0 (/proc's) are read like pipes, to their end.
      const st = fstatx(stream.fd, stream.path);
      if (st.isFile && st.size > 0) {
        const at = lseek(stream.fd, 0, C.SEEK_CUR, stream.path);
        const left = st.size - at;
        if (length === undefined) length = left;
        else if (left < length) {
          throw new UsageError(
            stream.path,
            `holds ${left} bytes${
              at ? ` past its position ${at}` : ""
            }, --length asks for ${length}; nothing was written`,
          );
        }
      }
      using target = Target.open(path, "write", "map write");
      if (options.input) refuseTarget(target, options.input, "--input");
      else refuseStream(target, 0, "stdin");
      target.checkRange(offset, length ?? 0);
      if (!options.force) target.checkSignature();
      const progress = new ProgressReporter(length ?? target.size - offset);
      let report;
      try {
        using signals = interruptsFor(stream.fd, stream.path);
        report = await writeRange(
          target,
          offset,
          length,
          stream,
          (n) => progress.update(n),
          signals && (() => signals.poll()),
        );
      } finally {
        progress.finish();
      }
      if (!report.durable) {
        out.stderr(
          `pmemctl: warning: ${path}: no CPU cache flush available (install libpmem1): writes may not be durable\n`,
        );
      }
    });

  map
    .command("zero")
    .description("write zeros over a range of a target, durable before exit 0")
    .argument("<path>", "/dev/pmemN, /dev/daxN.M or a file")
    .option("--offset <n>", "where to start (4096, 0x1000, 4K, 1M…)", "0")
    .option("--length <n>", "how many bytes (default: to the end)")
    .option("--force", "required: zeroing destroys what the range holds")
    .action(async (path, options) => {
      const offset = parseSize(options.offset, "--offset");
      const length = options.length !== undefined
        ? parseSize(options.length, "--length")
        : undefined;
      if (!options.force) {
        throw new UsageError("map zero", "destroys data: pass --force");
      }
      using target = Target.open(path, "write", "map zero");
      const todo = length ?? Math.max(0, target.size - offset);
      const progress = new ProgressReporter(todo);
      let report;
      try {
        using signals = new Interrupts();
        report = await zeroRange(
          target,
          offset,
          todo,
          (n) => progress.update(n),
          () => signals.poll(),
        );
      } finally {
        progress.finish();
      }
      if (!report.durable) {
        out.stderr(
          `pmemctl: warning: ${path}: no CPU cache flush available (install libpmem1): writes may not be durable\n`,
        );
      }
    });

  program
    .command("verify")
    .description(
      "prove a range holds data and keeps it across power cycles, pinpointing bad bytes",
    )
    .argument("<path>", "/dev/pmemN, /dev/daxN.M or a file")
    .addOption(
      new Option("--mode <mode>", "what to do").choices(MODES).default(
        "scan" as const,
      ),
    )
    .option(
      "--offset <n>",
      "where the range starts (4096, 0x1000, 4K, 1M…)",
      "0",
    )
    .option("--length <n>", "how many bytes (default: to the end)")
    .option(
      "--seed <n>",
      "the pattern's seed (default: random; check reads it from the stamp)",
    )
    .option(
      "--passes <n>",
      "destructive: passes, alternating the pattern and its complement",
      "1",
    )
    .option(
      "--journal <file>",
      "rw: keep each window's original bytes in FILE before touching it",
    )
    .option(
      "--resume",
      "rw: restore what the journal holds, then finish the run",
    )
    .option("--json", "print one JSON document")
    .option(
      "--force",
      "required by destructive and stamp, which overwrite the range",
    )
    .action(async (path, options) => {
      const offset = parseSize(options.offset, "--offset");
      const length = options.length !== undefined
        ? parseSize(options.length, "--length")
        : undefined;
      const seed = options.seed !== undefined
        ? parseSize(options.seed, "--seed")
        : undefined;
      const passes = parseSize(options.passes, "--passes");
      if (passes < 1) throw new UsageError("--passes", "must be at least 1");
      using signals = new Interrupts();
      let progress: ProgressReporter | undefined;
      try {
        const report = await verify(path, {
          mode: options.mode as VerifyMode,
          offset,
          length,
          seed,
          passes,
          journal: options.journal,
          resume: options.resume ?? false,
          force: options.force ?? false,
          progress: (done, total) => {
            progress ??= new ProgressReporter(total);
            progress.update(done);
          },
          interrupted: () => signals.reason,
        });
        progress?.finish();
        if (options.json) out.stdout(JSON.stringify(report, null, 2) + "\n");
        else {
          const rate = (report.bytes_per_second / 2 ** 20).toFixed(1);
          out.stdout(
            `${report.result}: ${report.mode} of ${path} ${
              hex(report.offset)
            }+${report.length}: ` +
              `${report.bytes_checked} bytes checked in ${report.seconds} s (${rate} MiB/s), ` +
              `${report.mismatch_count} bytes differ\n`,
          );
          if (report.reason) out.stdout(`  ${report.reason}\n`);
          for (const m of report.mismatches) {
            out.stdout(
              `  at ${hex(m.offset)} (${m.offset}): expected ${
                hex(m.expected)
              }, found ${hex(m.actual)}\n`,
            );
          }
          for (const r of report.bad_ranges) {
            out.stdout(
              `  bad ${hex(r.offset)}-${
                hex(r.offset + r.length - 1)
              } (${r.length} bytes): ${r.reason}\n`,
            );
          }
        }
        if (!report.durable) {
          out.stderr(
            `pmemctl: warning: ${path}: no CPU cache flush available (install libpmem1): what this run wrote may not be durable\n`,
          );
        }
        if (report.interrupted) {
          throw new SystemError(
            "verify",
            `${report.interrupted}: stopped after ${report.bytes_checked} bytes, ${
              report.mode === "rw"
                ? "every tested window restored"
                : report.mode === "destructive" || report.mode === "stamp"
                ? "the range holds part of the pattern"
                : "nothing was written"
            }`,
          );
        }
        if (report.result === "fail") {
          throw new CheckFailedError(
            "verify",
            report.reason ??
              `${report.mismatch_count} bytes differ, ${report.bad_ranges.length} bad ranges`,
          );
        }
      } finally {
        progress?.finish();
      }
    });

  const kmod = program
    .command("kmod")
    .description("the pmem_legacy kernel module shipped inside pmemctl");

  kmod
    .command("status")
    .description(
      "which pmem modules are loaded, which type-12 range each holds, what is unclaimed",
    )
    .option("--json", "print one JSON document")
    .option("--root <dir>", "read proc/ under DIR (a captured tree)")
    .action((options) => {
      const status = kmodStatus(options.root ?? "/");
      if (options.json) out.stdout(JSON.stringify(status, null, 2) + "\n");
      else {
        for (const m of status.modules) {
          const users = m.used_by.length > 0
            ? ` (used by ${m.used_by.join(", ")})`
            : "";
          out.stdout(escapeControls(
            `${m.name.padEnd(12)} ${m.loaded ? "loaded" : "-"}${
              m.loaded ? users : ""
            }\n`,
          ));
        }
        for (const r of status.ranges) {
          out.stdout(escapeControls(
            `${hex(r.start)}-${hex(r.end)} type 12: ${
              r.claimed_by ?? "unclaimed"
            }\n`,
          ));
        }
        if (status.ranges.length === 0) out.stdout("no type-12 range\n");
      }
      for (const w of status.warnings) {
        out.stderr(`pmemctl: warning: ${escapeControls(w)}\n`);
      }
    });

  kmod
    .command("source")
    .description(
      "write the module's source (C, Kbuild, Makefile, dkms.conf, README) to DIR",
    )
    .argument("<dir>", "where to write it (created if needed)")
    .action((dir) => {
      for (const path of writeSource(dir)) out.stdout(`${path}\n`);
    });

  kmod
    .command("build")
    .description(
      "build pmem_legacy.ko against a kernel's headers and print its path",
    )
    .option(
      "--kver <version>",
      "the kernel version (default: the running kernel)",
    )
    .option("--kdir <dir>", "the kernel headers' directory instead")
    .option("--out <dir>", "where to put pmem_legacy.ko", ".")
    .action(async (options) => {
      if (options.kver && options.kdir) {
        throw new UsageError(
          "kmod build",
          "--kver and --kdir exclude each other",
        );
      }
      out.stdout(
        `${await buildModule({
          kver: options.kver,
          kdir: options.kdir,
          out: options.out,
        })}\n`,
      );
    });

  program
    .command("completions")
    .description("print a shell completion script")
    .addArgument(
      new Argument("<shell>", "the shell to complete for").choices(SHELLS),
    )
    .addHelpText(
      "after",
      "\nExamples:\n  source <(pmemctl completions bash)\n  pmemctl completions fish | source",
    )
    .action((shell) => {
      out.stdout(
        renderCompletions(
          fromCommander(program as unknown as PlainCommand),
          shell,
        ),
      );
    });

  return program;
}

/** Runs the CLI on `args` (without the program name) and returns the exit code. */
export async function run(
  args: string[],
  out: Output = processOutput,
): Promise<number> {
  const program = buildProgram(out);
  if (args.length === 0) {
    out.stderr(program.helpInformation());
    return ExitCode.usage;
  }
  try {
    await program.parseAsync(args, { from: "user" });
    return ExitCode.ok;
  } catch (error) {
    return report(error, out);
  }
}

/** Prints one `pmemctl: <what>: <why>` line for `error` and returns its exit code. */
export function report(error: unknown, out: Output = processOutput): number {
  const debug = Deno.env.get("PMEMCTL_DEBUG") === "1";
  if (error instanceof CommanderError) {
    // --help and --version end here with exit code 0.
    if (error.exitCode === 0) return ExitCode.ok;
    const why = error.message.replace(/^error: /, "").replace(/\n+/g, " ")
      .trim();
    out.stderr(`pmemctl: usage: ${why} (see 'pmemctl --help')\n`);
    return ExitCode.usage;
  }
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

if (import.meta.main) {
  Deno.exit(await run(Deno.args));
}
