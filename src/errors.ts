/**
 * The error hierarchy of pmemctl (defined in ffi/errors.ts, the lowest
 * layer, so ffi/ needs nothing from src/). Each class carries the exit code
 * the spec assigns to it.
 *
 * @module
 */

export {
  CheckFailedError,
  ExitCode,
  PmemctlError,
  SystemError,
  UsageError,
} from "../ffi/errors.ts";
