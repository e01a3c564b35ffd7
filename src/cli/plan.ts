/**
 * `pmemctl plan memmap`: propose `memmap=` ranges from the machine's own
 * e820 table; `plan check`: compare them with what booted; `plan cxl`: the
 * commands that provision free CXL persistent capacity.
 *
 * @module
 */

import { CheckFailedError, SystemError, UsageError } from "../errors.ts";
import { amount, parseSize } from "../units.ts";
import { gatherFrom, sourceFlags } from "./list.ts";
import { printJson, warn } from "./output.ts";
import { planCheckDocument } from "../render/json.ts";
import {
  type CommandSpec,
  type GroupSpec,
  jsonFlag,
  rootFlag,
} from "./spec.ts";

const memmap: CommandSpec = {
  name: "memmap",
  brief:
    "propose memmap=SIZE!START ranges inside usable RAM of this machine's e820 table",
  description: [
    "Each range lies wholly inside one usable-RAM entry of the e820 table (the live kernel log, or --dmesg and --root as list reads them), aligned to --align (a 128 MiB memory section by default), above 4 GiB first, from the top of RAM down, clear of the kernel image, the initrd and a crashkernel reservation, leaving the system --keep of RAM (default: 2 GiB or a quarter, the larger).",
    "It prints the kernel parameter and the lines that put it into GRUB's defaults or grubby, the RAM left and what struct pages cost. When nothing fits it exits 1 saying why.",
  ],
  flags: [
    {
      name: "count",
      brief: "how many ranges of SIZE",
      kind: "value",
      placeholder: "n",
      default: "1",
      value: "count",
    },
    {
      name: "align",
      brief:
        "alignment of start and size: 128M (a memory section, the default), 1G (safest), 2M (denser, shares sections with RAM)",
      kind: "value",
      placeholder: "size",
      default: "128M",
      value: "size",
    },
    {
      name: "start",
      brief: "where the first range must start (the rest follow it)",
      kind: "value",
      placeholder: "addr",
      value: "size",
    },
    {
      name: "keep",
      brief:
        "RAM the system keeps (default: 2 GiB or a quarter of RAM, whichever is larger)",
      kind: "value",
      placeholder: "size",
      value: "size",
    },
    jsonFlag,
    rootFlag("read proc/ and the kernel log under DIR (a captured tree)"),
    ...sourceFlags,
  ],
  args: [{ name: "size", brief: "the size of each range (4G, 512M…)" }],
  examples: [
    "pmemctl plan memmap 4G",
    "pmemctl plan memmap 1G --count 2 --align 1G --json",
  ],
  async run({ opt, args: [sizeText], out }) {
    const size = parseSize(sizeText, "SIZE");
    const count = opt.number("count");
    const align = opt.number("align");
    if (size === 0) throw new UsageError("SIZE", "must be more than 0");
    if (align < 4096 || (align & (align - 1)) !== 0) {
      throw new UsageError("--align", "must be a power of two of at least 4K");
    }
    const start = opt.optionalNumber("start");
    const keep = opt.optionalNumber("keep");
    const [g, { finalTable }, { iomemNodes }, plan] = await Promise.all([
      gatherFrom(opt),
      import("../parse/e820.ts"),
      import("../parse/iomem.ts"),
      import("../plan/memmap.ts"),
    ]);
    const table = g.obs.e820 ? finalTable(g.obs.e820) : [];
    const unreadable = g.warnings.find((w) =>
      w.startsWith("the kernel log is not readable")
    );
    if (g.logText === undefined && unreadable) {
      // Not an empty log: one this user may not read.
      throw new SystemError("plan memmap", unreadable);
    }
    for (const w of g.warnings) warn(out, w);
    if (table.length === 0) {
      throw new CheckFailedError(
        "plan memmap",
        "no e820 table to plan from: the kernel log has none (pass --dmesg FILE with the boot log)",
      );
    }
    const kernel = g.obs.iomem
      ? iomemNodes(g.obs.iomem).filter((n) =>
        /^(Kernel (code|rodata|data|bss)|Crash kernel)$/.test(n.name)
      )
      : [];
    const existing =
      (g.obs.memmap?.requests ?? []).filter((r) => r.kind === "pmem").length;
    const result = plan.planMemmap(
      table,
      { size, count, align, start, keep },
      plan.rangesToAvoid(g.logText, kernel),
      existing,
    );
    if ("reason" in result) {
      if (result.usage) throw new UsageError(result.usage, result.reason);
      throw new CheckFailedError("plan memmap", result.reason);
    }
    if (opt.bool("json")) printJson(out, result);
    else {
      out.stdout(
        [
          `kernel parameter: ${result.param}`,
          `/etc/default/grub: ${result.grub}`,
          `grubby: ${result.grubby}`,
          `RAM left: ${amount(result.ram_left)} of ${amount(result.ram_total)}`,
          `struct pages of an fsdax namespace with map=mem: ${result.struct_page_bytes} bytes of RAM (map=dev puts them on the device)`,
          ...(result.avoided.length
            ? [
              `kept clear of: ${
                result.avoided.map((a) =>
                  `${a.why} 0x${a.start.toString(16)}-0x${a.end.toString(16)}`
                ).join(", ")
              }`,
            ]
            : []),
        ].join("\n") + "\n",
      );
    }
    for (const w of result.warnings) warn(out, w);
  },
};

const check: CommandSpec = {
  name: "check",
  brief:
    "compare a planned memmap= parameter with what the booted kernel made of it",
  description: [
    "For each memmap=SIZE!START request of the parameter: whether the booted kernel's command line holds it, and whether it became a region a driver holds, with its devices (exit 0), or why not (exit 1).",
  ],
  flags: [
    jsonFlag,
    rootFlag("read proc/ and sys/ under DIR (a captured tree)"),
    ...sourceFlags,
  ],
  args: [{
    name: "param",
    brief: "the planned parameter, e.g. 'memmap=512M!4G memmap=1G!8G'",
  }],
  examples: [
    "pmemctl plan check 'memmap=4G!12G'",
    'pmemctl plan check "$(pmemctl plan memmap 4G --json | jq -r .param)" --json',
  ],
  async run({ opt, args: [param], out }) {
    const [g, { parseMemmap }, { joinRegions }, { checkPlan }] = await Promise
      .all([
        gatherFrom(opt),
        import("../parse/cmdline.ts"),
        import("../list/join.ts"),
        import("../plan/check.ts"),
      ]);
    const planned = parseMemmap(param);
    for (const e of planned.errors) {
      throw new UsageError("PARAM", `${e.text}: ${e.reason}`);
    }
    if (!planned.requests.some((r) => r.kind === "pmem")) {
      throw new UsageError(
        "PARAM",
        `no memmap=SIZE!START in '${param}' (pass the parameter plan memmap printed)`,
      );
    }
    for (const w of g.warnings) warn(out, w);
    const verdicts = checkPlan(planned, g.obs.memmap, joinRegions(g.obs));
    const doc = planCheckDocument(verdicts);
    if (opt.bool("json")) printJson(out, doc);
    else {
      out.stdout(
        verdicts.map((v) =>
          v.realised
            ? `ok    ${v.param}: ${v.region} (${v.devices!.join(", ")})\n`
            : `fail  ${v.param}: ${v.reason}\n`
        ).join(""),
      );
    }
    const { failed } = doc;
    if (failed > 0) {
      throw new CheckFailedError(
        "plan check",
        `${failed} planned request${failed > 1 ? "s" : ""} not realised`,
      );
    }
  },
};

const cxl: CommandSpec = {
  name: "cxl",
  brief:
    "print the commands that turn free CXL persistent capacity into a region and a namespace (pmemctl plan cxl | sh -e)",
  description: [
    "Reads the CXL memory devices and decoders in sysfs and prints the cxl create-region and ndctl create-namespace commands that turn free persistent capacity (or SIZE of it) into a region and a namespace of --mode. It changes nothing itself; with no free capacity it says so and exits 1.",
  ],
  flags: [
    {
      name: "mode",
      brief: "the namespace's mode",
      kind: "value",
      placeholder: "mode",
      choices: ["fsdax", "devdax"],
      default: "fsdax",
    },
    jsonFlag,
    rootFlag("read sys/ under DIR (a captured tree)"),
  ],
  args: [{
    name: "size",
    brief:
      "how much to provision, a multiple of 256M (default: all the free capacity of one device)",
    optional: true,
  }],
  examples: [
    "pmemctl plan cxl",
    "pmemctl plan cxl | sh -e",
    "pmemctl plan cxl 512M --mode devdax --json",
  ],
  async run({ opt, args: [sizeText], out }) {
    const size = sizeText === undefined
      ? undefined
      : parseSize(sizeText, "SIZE");
    const [{ SystemRoot }, { readCxl }, { readNdRegions }, { planCxl }] =
      await Promise.all([
        import("../sysfs/root.ts"),
        import("../sysfs/cxl.ts"),
        import("../sysfs/nd.ts"),
        import("../plan/cxl.ts"),
      ]);
    const sys = new SystemRoot(opt.optionalText("root") ?? "/");
    const view = readCxl(sys);
    if (!view) {
      throw new CheckFailedError(
        "plan cxl",
        "no CXL bus (/sys/bus/cxl): load cxl_acpi and cxl_pci, or this machine has no CXL memory",
      );
    }
    const ndFree = readNdRegions(sys)
      .filter((r) => r.provider === "CXL" && (r.availableSize ?? 0) > 0)
      .map((r) => r.dev);
    const plan = planCxl(view, {
      size,
      mode: opt.text("mode") as "fsdax" | "devdax",
    }, ndFree);
    if ("reason" in plan) {
      if (plan.usage) throw new UsageError("SIZE", plan.reason);
      throw new CheckFailedError("plan cxl", plan.reason);
    }
    if (opt.bool("json")) printJson(out, plan);
    else out.stdout(plan.commands.map((c) => `${c}\n`).join(""));
    for (const w of [...sys.warnings, ...plan.warnings]) warn(out, w);
  },
};

export const planGroup: GroupSpec = {
  name: "plan",
  brief:
    "plan persistent memory for this machine (memmap=, CXL), and check the plan booted",
  commands: [memmap, check, cxl],
};
