/**
 * `pmemctl kmod status|source|build`: the pmem_legacy module.
 *
 * @module
 */

import { UsageError } from "../errors.ts";
import type { KmodStatus } from "../kmod/kmod.ts";
import { escapeControls } from "../parse/numbers.ts";
import { hex } from "../units.ts";
import { printJson, warn } from "./output.ts";
import {
  type CommandSpec,
  type GroupSpec,
  jsonFlag,
  rootFlag,
} from "./spec.ts";

/** `kmod status` as text: each module, then each type-12 range and its holder. */
export function statusText(status: KmodStatus): string {
  const lines = status.modules.map((m) => {
    const users = m.loaded && m.used_by.length > 0
      ? ` (used by ${m.used_by.join(", ")})`
      : "";
    return `${m.name.padEnd(12)} ${m.loaded ? "loaded" : "-"}${users}`;
  });
  for (const r of status.ranges) {
    lines.push(
      `${hex(r.start)}-${hex(r.end)} type 12: ${r.claimed_by ?? "unclaimed"}`,
    );
  }
  if (status.ranges.length === 0) lines.push("no type-12 range");
  return escapeControls(lines.join("\n") + "\n");
}

const status: CommandSpec = {
  name: "status",
  brief:
    "which pmem modules are loaded, which type-12 range each holds, what is unclaimed",
  flags: [jsonFlag, rootFlag("read proc/ under DIR (a captured tree)")],
  args: [],
  examples: ["pmemctl kmod status --json"],
  async run({ flags, out }) {
    const { kmodStatus } = await import("../kmod/kmod.ts");
    const s = kmodStatus(flags.root as string ?? "/");
    if (flags.json) printJson(out, s);
    else out.stdout(statusText(s));
    for (const w of s.warnings) warn(out, w);
  },
};

const source: CommandSpec = {
  name: "source",
  brief:
    "write the module's source (C, Kbuild, Makefile, dkms.conf, README) to DIR",
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
  async run({ flags, out }) {
    if (flags.kver && flags.kdir) {
      throw new UsageError(
        "kmod build",
        "--kver and --kdir exclude each other",
      );
    }
    const { buildModule } = await import("../kmod/kmod.ts");
    out.stdout(
      `${await buildModule({
        kver: flags.kver as string | undefined,
        kdir: flags.kdir as string | undefined,
        out: flags.out as string ?? ".",
      })}\n`,
    );
  },
};

export const kmod: GroupSpec = {
  name: "kmod",
  brief: "the pmem_legacy kernel module shipped inside pmemctl",
  commands: [status, source, build],
};
