/**
 * The handler of `pmemctl verify`, loaded when verify runs.
 *
 * @module
 */

import { CheckFailedError, SystemError, UsageError } from "../errors.ts";
import { ProgressReporter } from "./progress.ts";
import { refuseNonRegular } from "../safety/atomic.ts";
import { Interrupts } from "../safety/interrupt.ts";
import { fitJobs } from "./jobs.ts";
import { load } from "./lazy_modules.ts";
import { verify, type VerifyMode } from "../verify/run.ts";
import {
  verifyRecord,
  type VerifyReport,
  verifyReport,
} from "../render/json.ts";
import {
  type Output,
  printJson,
  printText,
  progressSink,
  warn,
} from "./output.ts";
import type { Invocation } from "./spec.ts";
import { verifyText } from "../render/verify.ts";

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

/** `path` with its directory's links resolved, for comparing names of files that may not exist yet. */
function resolvedName(path: string): string {
  const slash = path.lastIndexOf("/");
  const dir = slash < 0 ? "." : slash === 0 ? "/" : path.slice(0, slash);
  try {
    return `${Deno.realPathSync(dir)}/${path.slice(slash + 1)}`;
  } catch {
    return path;
  }
}

/** Before anything runs: the state file must be a regular file, and neither the target nor the journal. */
async function checkStatePath(
  path: string,
  stateFlag: string | undefined,
  journal: string | undefined,
): Promise<void> {
  const [{ statePath }, { identityOfPath, sameBytes }] = await Promise.all([
    load("src/state/results.ts"),
    import("../safety/identity.ts"),
  ]);
  const file = statePath(stateFlag);
  // Not a link either: the state is replaced by rename, which would turn
  // a link (to /dev/stdout, say) into a regular file.
  refuseNonRegular(file, "--state");
  const state = identityOfPath(file);
  for (
    const [other, role] of [[path, "the target"], [journal, "the journal"]]
  ) {
    if (!other) continue;
    const id = identityOfPath(other);
    // The journal may not exist yet: then its resolved name must differ.
    if (
      (state && id && sameBytes(state, id)) ||
      resolvedName(file) === resolvedName(other)
    ) {
      throw new UsageError(
        `--state ${file}`,
        `is ${role} ${other} itself: nothing was run`,
      );
    }
  }
}

/** Keeps the result in the state file; trouble there is a warning, the run's result stands. */
async function record(
  out: Output,
  path: string,
  report: VerifyReport,
  stateFlag: string | undefined,
): Promise<void> {
  const { recordVerify, statePath } = await load("src/state/results.ts");
  const file = statePath(stateFlag);
  let target = path;
  try {
    target = Deno.realPathSync(path);
  } catch { /* recorded as given */ }
  try {
    const w = recordVerify(file, verifyRecord(target, report, new Date()));
    if (w) warn(out, w);
  } catch (e) {
    warn(
      out,
      `${file}: the result was not recorded: ${
        (e as Error).message.split("\n")[0]
      }`,
    );
  }
}

/** `pmemctl verify`: runs the verifier and reports. */
export async function runVerify({ opt, args: [path], out }: Invocation) {
  const mode = opt.text("mode") as VerifyMode;
  const state = opt.optionalText("state");
  const journal = opt.optionalText("journal");
  const asked = opt.optionalNumber("jobs");
  // rw runs on one thread (verify refuses more); the others take --jobs or
  // its default, as many as `ulimit -n` leaves room for.
  const jobs = mode === "rw" ? asked : fitJobs(asked, out);
  if (opt.bool("record")) await checkStatePath(path, state, journal);
  using signals = new Interrupts();
  let progress: ProgressReporter | undefined;
  try {
    const report = verifyReport(
      await verify(path, {
        mode,
        offset: opt.number("offset"),
        length: opt.optionalNumber("length"),
        seed: opt.optionalNumber("seed"),
        passes: opt.number("passes"),
        jobs,
        journal,
        resume: opt.bool("resume"),
        force: opt.bool("force"),
        progress: (done, total) => {
          progress ??= new ProgressReporter(total, progressSink(out));
          progress.update(done);
        },
        interrupted: () => signals.reason,
      }),
    );
    progress?.finish();
    if (opt.bool("json")) printJson(out, report);
    else printText(out, verifyText(path, report));
    if (opt.bool("record") && !report.interrupted) {
      await record(out, path, report, state);
    }
    finish(out, path, report);
  } finally {
    progress?.finish();
  }
}
