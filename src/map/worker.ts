/**
 * A `map --jobs` worker thread (started by parallel.ts through the pool):
 * takes pieces of the transfer it is sent until none is left or the run
 * stops, and answers with its bytes and durability.
 *
 * @module
 */

import { serve } from "../jobs/serve.ts";
import { drainMap } from "./parallel.ts";

serve((t, job, c) => drainMap(t, job as Parameters<typeof drainMap>[1], c));
