/**
 * `pmemctl verify`: prove a range holds data and keeps it.
 *
 * @module
 */

import { MODES } from "../verify/modes.ts";
import {
  type CommandSpec,
  forceFlag,
  jobsFlag,
  jsonFlag,
  lengthFlag,
  offsetFlag,
  targetArg,
} from "./spec.ts";

export const verifyCommand: CommandSpec = {
  name: "verify",
  brief:
    "prove a range holds data and keeps it across power cycles, pinpointing bad bytes",
  description: [
    "Modes: scan (the default) reads everything and never writes; destructive fills the range with a seeded pattern in which every 8-byte word is a hash of its offset, drops the caches and compares (needs --force); stamp writes that pattern and a checksummed header page, and check, after a power cycle, finds the header and compares every byte without writing; rw saves, tests and restores each 16 MiB window, and with --journal FILE the saved bytes are on disk first, so a run killed even by SIGKILL loses nothing: --resume puts them back and finishes.",
    "The report names the first bad bytes by exact offset with what was expected and found, the merged bad ranges (mismatch, EIO, known bad blocks), the bytes checked, the speed, and whether everything written was made durable; fail exits 1. SIGINT, SIGTERM and SIGHUP stop a run between windows (rw puts its window back first) with exit 3. --jobs N runs scan, destructive, stamp and check on N threads; --record keeps the result for pmemctl export.",
  ],
  flags: [
    {
      name: "mode",
      brief: "what to do",
      kind: "value",
      placeholder: "mode",
      choices: MODES,
      default: "scan",
    },
    offsetFlag("where the range starts"),
    lengthFlag("how many bytes (default: to the end)"),
    {
      name: "seed",
      brief:
        "the pattern's seed (default: random; check reads it from the stamp)",
      kind: "value",
      placeholder: "n",
      value: "size",
    },
    {
      name: "passes",
      brief: "destructive: passes, alternating the pattern and its complement",
      kind: "value",
      placeholder: "n",
      default: "1",
      value: "count",
    },
    jobsFlag(
      "threads to spread the range over (default: the online CPUs, at most 16; rw: 1)",
    ),
    {
      name: "journal",
      brief: "rw: keep each window's original bytes in FILE before touching it",
      kind: "value",
      placeholder: "file",
    },
    {
      name: "resume",
      brief: "rw: restore what the journal holds, then finish the run",
      kind: "boolean",
    },
    {
      name: "record",
      brief:
        "keep this run's result in pmemctl's state file, for export and list",
      kind: "boolean",
    },
    {
      name: "state",
      brief:
        "the state file (default: $PMEMCTL_STATE or /var/lib/pmemctl/state.json)",
      kind: "value",
      placeholder: "file",
    },
    jsonFlag,
    forceFlag("required by destructive and stamp, which overwrite the range"),
  ],
  args: [targetArg],
  examples: [
    "pmemctl verify /dev/pmem0",
    "pmemctl verify /dev/pmem0 --mode stamp --force --length 1G",
    "pmemctl verify /dev/pmem0 --mode check --json",
    "pmemctl verify /dev/dax0.0 --mode destructive --force --jobs 4",
    "pmemctl verify /dev/dax0.0 --mode rw --journal /var/tmp/pmem.journal",
    "pmemctl verify /dev/pmem0 --record && pmemctl export prometheus",
  ],
  async run(call) {
    await (await import("./verify_run.ts")).runVerify(call);
  },
};
