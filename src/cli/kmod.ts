/**
 * `pmemctl kmod status|source|build`: the pmem_legacy module.
 *
 * @module
 */

import { UsageError } from "../errors.ts";
import { printJson, warn } from "./output.ts";
import {
  type CommandSpec,
  type GroupSpec,
  jsonFlag,
  rootFlag,
} from "./spec.ts";

const status: CommandSpec = {
  name: "status",
  brief:
    "which pmem modules are loaded, which type-12 range each holds, what is unclaimed",
  description: [
    "Reads /proc/modules and /proc/iomem: which of nd_e820, nd_pmem and pmem_legacy are loaded, which driver holds each e820 type-12 range, and which ranges nothing holds.",
  ],
  flags: [jsonFlag, rootFlag("read proc/ under DIR (a captured tree)")],
  args: [],
  examples: ["pmemctl kmod status --json"],
  async run({ opt, out }) {
    const [{ kmodStatus }, { statusText }] = await Promise.all([
      import("../kmod/kmod.ts"),
      import("../kmod/render.ts"),
    ]);
    const s = kmodStatus(opt.optionalText("root") ?? "/");
    if (opt.bool("json")) printJson(out, s);
    else out.stdout(statusText(s));
    for (const w of s.warnings) warn(out, w);
  },
};

const source: CommandSpec = {
  name: "source",
  brief:
    "write the module's source (C, Kbuild, Makefile, dkms.conf, README) to DIR",
  description: [
    "pmem_legacy is an out-of-tree driver, shipped inside pmemctl, that makes /dev/pmemlegacyN of e820 type-12 ranges where nd_e820 and nd_pmem are absent or must not hold them, for kernels from 6.1 on. Like drivers/nvdimm/pmem.c it reads through copy_mc_to_kernel, honours a bad-block list, and sets its DAX device up for non-temporal writes and flushing fsync. kmod/README in the source says how to build, load, restrict it with regions= and sign it.",
  ],
  flags: [],
  args: [{ name: "dir", brief: "where to write it (created if needed)" }],
  examples: ["pmemctl kmod source ./pmem_legacy"],
  async run({ args: [dir], out }) {
    const { writeSource } = await import("../kmod/kmod.ts");
    for (const path of writeSource(dir)) out.stdout(`${path}\n`);
  },
};

const build: CommandSpec = {
  name: "build",
  brief: "build pmem_legacy.ko against a kernel's headers and print its path",
  description: [
    "Builds the module with the kernel's own build system against the headers of --kver (default: the running kernel) or --kdir, and prints the path of pmem_legacy.ko. When the headers were built with a compiler the system lacks, it names the package to install (exit 3).",
  ],
  flags: [
    {
      name: "kver",
      brief: "the kernel version (default: the running kernel)",
      kind: "value",
      placeholder: "version",
    },
    {
      name: "kdir",
      brief: "the kernel headers' directory instead",
      kind: "value",
      placeholder: "dir",
    },
    {
      name: "out",
      brief: "where to put pmem_legacy.ko",
      kind: "value",
      placeholder: "dir",
      default: ".",
    },
  ],
  args: [],
  examples: ["pmemctl kmod build --kver 6.1.0-56-amd64 --out ."],
  async run({ opt, out }) {
    if (opt.optionalText("kver") && opt.optionalText("kdir")) {
      throw new UsageError(
        "kmod build",
        "--kver and --kdir exclude each other",
      );
    }
    const { buildModule } = await import("../kmod/kmod.ts");
    out.stdout(
      `${await buildModule({
        kver: opt.optionalText("kver"),
        kdir: opt.optionalText("kdir"),
        out: opt.text("out"),
      })}\n`,
    );
  },
};

export const kmod: GroupSpec = {
  name: "kmod",
  brief: "the pmem_legacy kernel module shipped inside pmemctl",
  commands: [status, source, build],
};
