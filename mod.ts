/**
 * pmemctl's library API: the same building blocks the CLI uses.
 *
 * @module
 */

export * from "./ffi/mod.ts";
export {
  CheckFailedError,
  ExitCode,
  PmemctlError,
  SystemError,
  UsageError,
} from "./src/errors.ts";
export {
  type CompletionCommand,
  fromSpec,
  renderCompletions,
  type Shell,
  SHELLS,
} from "./src/completions.ts";
