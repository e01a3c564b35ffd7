/**
 * The handler of `pmemctl verify`, loaded when verify runs.
 *
 * @module
 */

import { CheckFailedError, SystemError, UsageError } from "../errors.ts";
import { ProgressReporter } from "../map/progress.ts";
import { refuseNonRegular } from "../safety/atomic.ts";
import { Interrupts } from "../safety/interrupt.ts";
import { parseSize } from "../units.ts";
import { defaultJobs, parseJobs } from "../jobs/count.ts";
import { fitJobs } from "./jobs.ts";
import { lazyImport } from "../lazy.ts";
import { verify, type VerifyMode, type VerifyReport } from "../verify/run.ts";
import { rangeFlags } from "./map.ts";
import {
  type Output,
  printJson,
  printText,
  progressSink,
  warn,
} from "./output.ts";
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
    lazyImport<typeof import("../state/results.ts")>("src/state/results.ts"),
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
  const { recordVerify, statePath } = await lazyImport<
    typeof import("../state/results.ts")
  >("src/state/results.ts");
  const file = statePath(stateFlag);
  let target = path;
  try {
    target = Deno.realPathSync(path);
  } catch { /* recorded as given */ }
  try {
    const w = recordVerify(file, {
      target,
      mode: report.mode,
      result: report.result,
      time: new Date().toISOString(),
      offset: report.offset,
      length: report.length,
      bytes_checked: report.bytes_checked,
      mismatch_count: report.mismatch_count,
      ...(report.seed !== undefined ? { seed: report.seed } : {}),
    });
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
export async function runVerify({ flags, args: [path], out }: Invocation) {
  const { offset, length } = rangeFlags(flags);
  const seed = flags.seed !== undefined
    ? parseSize(flags.seed as string, "--seed")
    : undefined;
  const passes = parseSize(flags.passes as string ?? "1", "--passes");
  if (passes < 1) throw new UsageError("--passes", "must be at least 1");
  const asked = parseJobs(flags.jobs as string | undefined);
  // rw runs on one thread; the others take what `ulimit -n` leaves room for.
  const jobs = flags.mode === "rw"
    ? asked
    : asked === undefined && defaultJobs() === 1
    ? asked
    : fitJobs(asked ?? defaultJobs(), out);
  if (flags.record) {
    await checkStatePath(
      path,
      flags.state as string | undefined,
      flags.journal as string | undefined,
    );
  }
  using signals = new Interrupts();
  let progress: ProgressReporter | undefined;
  try {
    const report = await verify(path, {
      mode: (flags.mode ?? "scan") as VerifyMode,
      offset,
      length,
      seed,
      passes,
      jobs,
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
    else printText(out, verifyText(path, report));
    if (flags.record && !report.interrupted) {
      await record(out, path, report, flags.state as string | undefined);
    }
    finish(out, path, report);
  } finally {
    progress?.finish();
  }
}
