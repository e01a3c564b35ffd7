/**
 * `pmemctl map info|read|write|zero`: bytes through mmap of a target.
 *
 * @module
 */

import { load } from "./lazy_modules.ts";
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
  return load("src/cli/map_run.ts");
}

const info: CommandSpec = {
  name: "info",
  brief: "say what a target is, how it maps and how writes become durable",
  description: [
    "Opens the target as map does and writes nothing: what it is (block device, device-DAX, a file on a DAX filesystem or in the page cache), its size and alignment, how pmemctl moves bytes there (io: mmap-nt, mmap, pwrite or o_direct), how a write becomes durable (persistence: map_sync, devdax or msync) and the region's persistence domain. On device-DAX without libpmem it warns that writes may stay in CPU caches.",
  ],
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
  description: [
    "Copies --length bytes (default: to the end) from --offset, straight between the mapping and the output on DAX targets, with O_DIRECT on block devices and pread on page-cache files. It refuses a terminal as output without --output, and a range over known bad blocks (exit 3) instead of touching poisoned memory; an output that fills up is named with the bytes written out whole.",
  ],
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
  description: [
    "Copies stdin or --input into the target at --offset. Each 16 MiB window is made durable (a cache flush on DAX, fdatasync elsewhere) before the next, and exit 0 means every byte is.",
    "Before anything is written it refuses a range past the end (exit 2), a filesystem, swap or LUKS signature without --force (exit 2), a block device that is mounted or held, a target another pmemctl run holds through any of its names, and known bad blocks (exit 3). Input shorter than --length, a target cut short under the run, or a signal, ends with one line saying how many bytes were written and made durable. --jobs N spreads a regular-file input over N threads.",
  ],
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
  description: [
    "Writes zeros over --length bytes from --offset (default: the whole target) with map write's refusals and durability; it needs --force.",
  ],
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
