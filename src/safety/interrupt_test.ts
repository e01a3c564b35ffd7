import assert from "node:assert/strict";
import { ignoredSignals } from "./interrupt.ts";

Deno.test("ignoredSignals reads SigIgn of /proc/PID/status: bit N-1 is signal N", () => {
  // As a shell's `trap '' HUP` then Deno (which ignores SIGPIPE) leave it.
  const status = "Name:\tdeno\nSigPnd:\t0000000000000000\n" +
    "SigBlk:\t0000000000000000\nSigIgn:\t0000000000001001\n" +
    "SigCgt:\t0000000100000440\n";
  assert.deepEqual([...ignoredSignals(status)], [1, 13]);
  assert.deepEqual([...ignoredSignals("SigIgn:\t8000000000000004\n")], [3, 64]);
  assert.deepEqual([...ignoredSignals("Name:\tx\n")], []);
});
