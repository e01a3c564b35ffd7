/**
 * The handler of `pmemctl verify`, loaded when verify runs.
 *
 * @module
 */

import { CheckFailedError, SystemError, UsageError } from "../errors.ts";
import { ProgressReporter } from "../map/progress.ts";
import { Interrupts } from "../safety/interrupt.ts";
import { parseSize } from "../units.ts";
import { verify, type VerifyMode, type VerifyReport } from "../verify/run.ts";
import { rangeFlags } from "./map.ts";
import { type Output, printJson, progressSink, warn } from "./output.ts";
import type { Invocation } from "./spec.ts";
import { verifyText } from "../verify/render.ts";

function finish(out: Output, path: string, report: VerifyReport): void {
  if (!report.durable) {
    warn(
      out,
      `${path}: no CPU cache flush available (install libpmem1): what this run wrote may not be durable`,
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
}

/** `pmemctl verify`: runs the verifier and reports. */
export async function runVerify({ flags, args: [path], out }: Invocation) {
  const { offset, length } = rangeFlags(flags);
  const seed = flags.seed !== undefined
    ? parseSize(flags.seed as string, "--seed")
    : undefined;
  const passes = parseSize(flags.passes as string ?? "1", "--passes");
  if (passes < 1) throw new UsageError("--passes", "must be at least 1");
  using signals = new Interrupts();
  let progress: ProgressReporter | undefined;
  try {
    const report = await verify(path, {
      mode: (flags.mode ?? "scan") as VerifyMode,
      offset,
      length,
      seed,
      passes,
      journal: flags.journal as string | undefined,
      resume: flags.resume === true,
      force: flags.force === true,
      progress: (done, total) => {
        progress ??= new ProgressReporter(total, progressSink(out));
        progress.update(done);
      },
      interrupted: () => signals.reason,
    });
    progress?.finish();
    if (flags.json) printJson(out, report);
    else out.stdout(verifyText(path, report));
    finish(out, path, report);
  } finally {
    progress?.finish();
  }
}
