/**
 * The threads a command runs on, as the CLI settles them: `--jobs` (or its
 * default), fewer when the descriptor limit has no room for them, said in
 * a warning.
 *
 * @module
 */

import { defaultJobs, threadsThisProcessCan } from "../jobs/count.ts";
import { type Output, warn } from "./output.ts";

/**
 * `--jobs N`, or when not given the online CPUs (at most 16): the one
 * place `--jobs` gets its default (the library's functions take 1). Fewer,
 * with a warning, when `ulimit -n` leaves no room for them.
 */
export function fitJobs(given: number | undefined, out: Output): number {
  const asked = given ?? defaultJobs();
  const can = threadsThisProcessCan(asked);
  if (can < asked) {
    warn(
      out,
      `--jobs ${asked}: ulimit -n leaves descriptors for ${can} thread${
        can === 1 ? "" : "s"
      }: running on ${can}`,
    );
  }
  return can;
}
