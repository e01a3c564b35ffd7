/**
 * `pmemctl map info|read|write|zero`: bytes through mmap of a target.
 *
 * @module
 */

import { lazyImport } from "../lazy.ts";
import {
  type CommandSpec,
  forceFlag,
  type GroupSpec,
  jobsFlag,
  jsonFlag,
  lengthFlag,
  offsetFlag,
  targetArg,
} from "./spec.ts";

/**
 * The handlers (map_run.ts), loaded when a map command runs and kept out of
 * the module graph of the commands that import this module for its flags
 * (verify).
 */
function handlers(): Promise<typeof import("./map_run.ts")> {
  return lazyImport("src/cli/map_run.ts");
}

const info: CommandSpec = {
  name: "info",
  brief: "say what a target is, how it maps and how writes become durable",
  flags: [jsonFlag],
  args: [targetArg],
  examples: ["pmemctl map info /dev/dax0.0 --json"],
  async run(call) {
    await (await handlers()).info(call);
  },
};

const read: CommandSpec = {
  name: "read",
  brief: "copy bytes of a target to stdout or --output",
  flags: [
    offsetFlag(),
    lengthFlag("how many bytes (default: to the end)"),
    {
      name: "output",
      brief: "write to FILE instead of stdout",
      kind: "value",
      placeholder: "file",
    },
    jobsFlag(
      "threads, for a range of several windows to or from a regular file (default: the online CPUs, at most 16)",
    ),
    jsonFlag,
  ],
  args: [targetArg],
  examples: ["pmemctl map read /dev/pmem0 --offset 1M --length 4K | xxd"],
  async run(call) {
    await (await handlers()).read(call);
  },
};

const write: CommandSpec = {
  name: "write",
  brief: "copy stdin or --input into a target, durable before exit 0",
  flags: [
    offsetFlag(),
    lengthFlag("how many bytes (default: all of the input)"),
    {
      name: "input",
      brief: "read from FILE instead of stdin",
      kind: "value",
      placeholder: "file",
    },
    jobsFlag(
      "threads, for a range of several windows to or from a regular file (default: the online CPUs, at most 16)",
    ),
    jsonFlag,
    forceFlag("overwrite a filesystem or swap signature"),
  ],
  args: [targetArg],
  examples: ["pmemctl map write /dev/dax0.0 --offset 2M --input image.bin"],
  async run(call) {
    await (await handlers()).write(call);
  },
};

const zero: CommandSpec = {
  name: "zero",
  brief: "write zeros over a range of a target, durable before exit 0",
  flags: [
    offsetFlag(),
    lengthFlag("how many bytes (default: to the end)"),
    forceFlag("required: zeroing destroys what the range holds"),
    jobsFlag("threads (default: the online CPUs, at most 16)"),
    jsonFlag,
  ],
  args: [targetArg],
  examples: ["pmemctl map zero /dev/pmem0 --length 1G --force"],
  async run(call) {
    await (await handlers()).zero(call);
  },
};

export const map: GroupSpec = {
  name: "map",
  brief: "move bytes through mmap of /dev/pmemN, /dev/daxN.M and DAX files",
  commands: [info, read, write, zero],
};
