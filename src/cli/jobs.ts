/**
 * The threads a command runs on, as the CLI settles them: `--jobs` (or its
 * default), fewer when the descriptor limit has no room for them, said in
 * a warning.
 *
 * @module
 */

import { threadsThisProcessCan } from "../jobs/count.ts";
import { type Output, warn } from "./output.ts";

/** `asked` threads, or as many as `ulimit -n` leaves room for (with a warning). */
export function fitJobs(asked: number, out: Output): number {
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
