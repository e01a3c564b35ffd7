/**
 * `pmemctl list`: every persistent-memory range and what each source says.
 *
 * @module
 */

import { CheckFailedError, UsageError } from "../errors.ts";
import { load } from "./lazy_modules.ts";
import {
  type CommandSpec,
  type FlagSpec,
  type Invocation,
  jsonFlag,
  rootFlag,
} from "./spec.ts";
import { printJson, printText, warn } from "./output.ts";
import { gather } from "../list/gather.ts";
import { CAPS, readStdinCapped } from "../bounded.ts";
import { joinRegions } from "../list/join.ts";
import { listTable } from "../render/list.ts";
import { listDocument } from "../render/json.ts";

/** Usage error unless `dir` is a directory (`--root`). */
export function checkRootDir(dir: string | undefined): void {
  if (dir === undefined) return;
  let isDir = false;
  try {
    isDir = Deno.statSync(dir).isDirectory;
  } catch { /* reported below */ }
  if (!isDir) throw new UsageError(`--root ${dir}`, "not a directory");
}

/** `--dmesg FILE|-` and `--cmdline FILE`: where list and plan read the kernel's words. */
export const sourceFlags: FlagSpec[] = [
  {
    name: "dmesg",
    brief: "read the kernel log from FILE, or - for stdin",
    kind: "value",
    placeholder: "file",
  },
  {
    name: "cmdline",
    brief: "read the kernel command line from FILE",
    kind: "value",
    placeholder: "file",
  },
];

/**
 * Reads every source `--root`, `--dmesg` and `--cmdline` name (stdin for
 * `--dmesg -`, capped), as list and plan do.
 */
export function gatherFrom(
  opt: Invocation["opt"],
): ReturnType<typeof gather> {
  const root = opt.optionalText("root");
  checkRootDir(root);
  const dmesg = opt.optionalText("dmesg");
  return gather({
    root,
    dmesg,
    cmdline: opt.optionalText("cmdline"),
    stdinText: dmesg === "-"
      ? readStdinCapped(CAPS.log, "--dmesg -")
      : undefined,
  });
}

export const list: CommandSpec = {
  name: "list",
  brief:
    "find every persistent-memory range and join what each source says about it",
  description: [
    "Reads every source the kernel offers and joins what each says about a range: the e820 tables in the kernel log (klogctl, else /dev/kmsg), memmap= on the command line, /proc/iomem, /sys/firmware/memmap, libnvdimm regions and namespaces of every provider (e820, ACPI NFIT, virtio-pmem, CXL), CXL memory devices, soft-reserved memory, block devices, device-DAX and mounts. One row per range: where it is, its e820 type, who claims it, and its namespaces with their devices, DAX and mounts.",
    "A memmap= request that did not become persistent memory, or a range nothing claims, is a warning and exit 1. Without root fewer sources can be read (the kernel log, addresses in /proc/iomem); each missing one is named in a warning.",
    "--root DIR reads a captured tree (a sosreport, or copies of proc/, sys/ and a dmesg.txt) as a jail: no link leaves it, only regular files are read. --json prints one document: regions, cxl and warnings.",
  ],
  flags: [
    jsonFlag,
    {
      name: "human",
      short: "u",
      brief: 'sizes as "256.00 MiB (268.44 MB)" and hex addresses in JSON',
      kind: "boolean",
    },
    rootFlag(
      "read proc/, sys/ and dev/ under DIR (a captured tree, a sosreport)",
    ),
    ...sourceFlags,
    {
      name: "probe",
      brief:
        "read the first 4 KiB of each namespace and partition (root): filesystem, pmemctl stamp, PMDK pool, empty",
      kind: "boolean",
    },
    {
      name: "state",
      brief:
        "with --json, the recorded verify results from FILE (default: $PMEMCTL_STATE or /var/lib/pmemctl/state.json)",
      kind: "value",
      placeholder: "file",
    },
  ],
  args: [],
  examples: [
    "pmemctl list",
    "pmemctl list --json -u",
    "pmemctl list --root sosreport-host/ --json",
    "dmesg | pmemctl list --dmesg - --root /nonexistent-empty-dir",
  ],
  async run({ opt, out }) {
    const gathered = await gatherFrom(opt);
    const result = joinRegions(gathered.obs);
    result.warnings.unshift(...gathered.warnings);
    if (opt.bool("probe")) {
      if (opt.optionalText("root") !== undefined) {
        throw new UsageError(
          "--probe",
          "reads the live devices: it cannot be used with --root",
        );
      }
      const { probeDevice } = await load("src/list/probe.ts");
      for (const ns of result.regions.flatMap((r) => r.namespaces)) {
        const dev = ns.blockdev ?? ns.chardev;
        if (!dev || ns.daxdev?.mode === "system-ram") continue;
        Object.assign(
          ns,
          await probeDevice(
            `/dev/${dev}`,
            ns.blockdev ? "block" : "char",
            ns.size,
            ns.align,
          ),
        );
        for (const p of ns.partitions ?? []) {
          Object.assign(
            p,
            await probeDevice(`/dev/${p.name}`, "block", p.size),
          );
        }
      }
    }
    if (opt.bool("json")) {
      // Only --json reads the state file: its modules stay out of start-up.
      const { readState, statePath } = await load("src/state/results.ts");
      const { state, warning } = readState(
        statePath(opt.optionalText("state"), opt.optionalText("root")),
      );
      if (warning) result.warnings.push(warning);
      printJson(
        out,
        listDocument(
          result,
          opt.bool("human") === true,
          Object.values(state.verify),
        ),
      );
    } else printText(out, listTable(result));
    for (const w of result.warnings) warn(out, w);
    if (result.failed > 0) {
      const n = result.failed;
      throw new CheckFailedError(
        "list",
        `${n} memmap= request${
          n > 1 ? "s" : ""
        } did not become a region (see warnings)`,
      );
    }
  },
};
