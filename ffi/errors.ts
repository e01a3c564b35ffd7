/**
 * The error hierarchy of pmemctl. Each class carries the exit code the spec
 * assigns to it; the CLI prints `pmemctl: <what>: <why>` and exits with it.
 *
 * @module
 */

/** Exit codes fixed by the command-line contract. */
export const ExitCode = {
  ok: 0,
  /** The check ran and found a problem. */
  checkFailed: 1,
  /** Usage error or invalid input. */
  usage: 2,
  /** Permission, missing device, busy, I/O error. */
  system: 3,
} as const;

/** The base of every error pmemctl reports to a user. */
export class PmemctlError extends Error {
  /** The exit code the CLI ends with when this error reaches it. */
  readonly exitCode: number = ExitCode.system;

  /** `what` names the thing that failed (a path, an option); `why` says what went wrong. */
  constructor(
    readonly what: string,
    readonly why: string,
    options?: ErrorOptions,
  ) {
    super(`${what}: ${why}`, options);
    this.name = new.target.name;
  }
}

/** Bad command-line usage or invalid input: exit 2. */
export class UsageError extends PmemctlError {
  override readonly exitCode: number = ExitCode.usage;
}

/** A system call or the system itself failed: exit 3. */
export class SystemError extends PmemctlError {
  override readonly exitCode: number = ExitCode.system;
}

/** A check ran and found a problem: exit 1. */
export class CheckFailedError extends PmemctlError {
  override readonly exitCode: number = ExitCode.checkFailed;
}
