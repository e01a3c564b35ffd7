/**
 * The handlers of `pmemctl map`, loaded when a map command runs (their
 * modules would otherwise cost every command's start-up).
 *
 * @module
 */

import {
  constants as C,
  FileHandle,
  fstatx,
  lseek,
  OsError,
} from "../../ffi/mod.ts";
import { SystemError, UsageError } from "../errors.ts";
import { fitJobs } from "./jobs.ts";
import { ProgressReporter } from "./progress.ts";
import { Target } from "../target/target.ts";
import {
  readRange,
  type Stream,
  writeRange,
  type WriteReport,
  zeroRange,
} from "../map/transfer.ts";
import { refuseStream, refuseTarget } from "../safety/identity.ts";
import { Interrupts, interruptsFor } from "../safety/interrupt.ts";
import { escapeField } from "../parse/numbers.ts";
import {
  type Output,
  printJson,
  printText,
  progressSink,
  warn,
} from "./output.ts";
import type { Invocation } from "./spec.ts";
import { targetInfo, transferDocument } from "../render/json.ts";
import { durability } from "../target/info.ts";
import { checkRange, checkSignature } from "../target/checks.ts";

function warnNotDurable(out: Output, path: string, durable: boolean): void {
  if (!durable) {
    warn(
      out,
      `${path}: no CPU cache flush available (install libpmem1): writes may not be durable`,
    );
  }
}

/** Seconds since `started` (a performance.now()). */
function seconds(started: number): number {
  return (performance.now() - started) / 1000;
}

/** `pmemctl map info`. */
export function info({ opt, args: [path], out }: Invocation) {
  using target = Target.open(path, "read", "map info", false);
  const info = targetInfo(target, durability(target));
  if (opt.bool("json")) printJson(out, info);
  else {
    for (const [k, v] of Object.entries(info)) {
      if (k !== "warnings") printText(out, `${k}: ${escapeField(String(v))}\n`);
    }
  }
  for (const w of info.warnings) warn(out, w);
}

/** `pmemctl map read`. */
export async function read({ opt, args: [path], out }: Invocation) {
  const offset = opt.number("offset");
  const length = opt.optionalNumber("length");
  const jobs = fitJobs(opt.optionalNumber("jobs"), out);
  const output = opt.optionalText("output");
  const json = opt.bool("json");
  if (json && !output) {
    throw new UsageError(
      "map read --json",
      "stdout carries the bytes: pass --output FILE",
    );
  }
  if (!output && out.isTerminal(1)) {
    throw new UsageError(
      "map read",
      "stdout is a terminal: redirect it or pass --output FILE",
    );
  }
  using target = Target.open(path, "read", "map read");
  const todo = length ?? Math.max(0, target.size - offset);
  checkRange(target, offset, todo);
  // Before the output is opened (and truncated): it must not be the target.
  if (output) refuseTarget(target, output, "--output");
  else refuseStream(target, 1, "stdout");
  using file = output
    ? new FileHandle(output, C.O_WRONLY | C.O_CREAT | C.O_TRUNC, 0o644)
    : undefined;
  const stream: Stream = file
    ? { fd: file.fd, path: output! }
    : { fd: 1, path: "stdout" };
  const progress = new ProgressReporter(todo, progressSink(out));
  const started = performance.now();
  let report: WriteReport | undefined;
  /** Bytes written out whole so far (the progress count). */
  let written = 0;
  try {
    using signals = interruptsFor(stream.fd, stream.path);
    report = await readRange(
      target,
      offset,
      todo,
      stream,
      (n) => progress.update(written = n),
      signals && (() => signals.poll()),
      jobs,
    );
  } catch (e) {
    // The reader went away (a closed pipe): not an error of ours.
    if (e instanceof OsError && e.code === "EPIPE" && !file) return;
    // A full output (ENOSPC, EFBIG): say how much of it is there.
    if (e instanceof SystemError && !/ bytes from offset /.test(e.why)) {
      throw new SystemError(
        e.what,
        `${e.why}; the first ${written} bytes from offset ${offset} were written out to ${stream.path}`,
      );
    }
    throw e;
  } finally {
    progress.finish();
  }
  if (json && report) {
    printJson(
      out,
      transferDocument(target, "read", offset, report, seconds(started)),
    );
  }
}

/** `pmemctl map write`. */
export async function write({ opt, args: [path], out }: Invocation) {
  const range = {
    offset: opt.number("offset"),
    length: opt.optionalNumber("length"),
  };
  const jobs = fitJobs(opt.optionalNumber("jobs"), out);
  const { offset } = range;
  let length = range.length;
  const inputPath = opt.optionalText("input");
  if (!inputPath && out.isTerminal(0)) {
    throw new UsageError(
      "map write",
      "stdin is a terminal: pipe the data in or pass --input FILE",
    );
  }
  using input = inputPath ? new FileHandle(inputPath, C.O_RDONLY) : undefined;
  const stream: Stream = input
    ? { fd: input.fd, path: inputPath! }
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
  if (inputPath) refuseTarget(target, inputPath, "--input");
  else refuseStream(target, 0, "stdin");
  checkRange(target, offset, length ?? 0);
  if (!opt.bool("force")) checkSignature(target);
  const progress = new ProgressReporter(
    length ?? target.size - offset,
    progressSink(out),
  );
  const started = performance.now();
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
      jobs,
    );
  } finally {
    progress.finish();
  }
  if (opt.bool("json")) {
    printJson(
      out,
      transferDocument(target, "write", offset, report, seconds(started)),
    );
  }
  warnNotDurable(out, path, report.durable);
}

/** `pmemctl map zero`. */
export async function zero({ opt, args: [path], out }: Invocation) {
  const offset = opt.number("offset");
  const length = opt.optionalNumber("length");
  const jobs = fitJobs(opt.optionalNumber("jobs"), out);
  if (!opt.bool("force")) {
    throw new UsageError("map zero", "destroys data: pass --force");
  }
  using target = Target.open(path, "write", "map zero");
  const todo = length ?? Math.max(0, target.size - offset);
  const progress = new ProgressReporter(todo, progressSink(out));
  const started = performance.now();
  let report;
  try {
    using signals = new Interrupts();
    report = await zeroRange(
      target,
      offset,
      todo,
      (n) => progress.update(n),
      () => signals.poll(),
      jobs,
    );
  } finally {
    progress.finish();
  }
  if (opt.bool("json")) {
    printJson(
      out,
      transferDocument(target, "zero", offset, report, seconds(started)),
    );
  }
  warnNotDurable(out, path, report.durable);
}
