/**
 * A `verify --jobs` worker thread (started by jobs.ts through the pool):
 * takes pieces of each task it is sent from the shared counter until none
 * is left, and answers with its bytes, durability and mismatch log. It
 * stops before its next window once the shared stop flag is set.
 *
 * @module
 */

import { serve } from "../jobs/serve.ts";
import { workerDrain } from "./jobs.ts";

serve(workerDrain);
