/**
 * `pmemctl doctor`: a checklist of why pmem is missing, disabled or not
 * DAX, one line per finding with its fix.
 *
 * @module
 */

import { CheckFailedError } from "../errors.ts";
import { escapeControls } from "../parse/numbers.ts";
import { gatherFrom, sourceFlags } from "./list.ts";
import { printJson } from "./output.ts";
import { doctorDocument } from "../render/json.ts";
import { type CommandSpec, jsonFlag, rootFlag } from "./spec.ts";

export const doctor: CommandSpec = {
  name: "doctor",
  brief:
    "check why persistent memory is missing, disabled or not DAX, and say how to fix it",
  description: [
    "A checklist, one line per finding (ok, warn or fail) with what was found and the fix: every memmap= request (refused, across a hole, split or realised), the kernel image against reserved ranges, the kernel configuration and the modules each range needs, unclaimed ranges, disabled regions and namespaces with the kernel log's reason, DAX refused or missing on pmem mounts, known bad blocks, persistence domains, and device-DAX given to the kernel as System RAM. A failed check exits 1; without root it says what it could not read.",
  ],
  flags: [
    jsonFlag,
    rootFlag(
      "read proc/, sys/, boot/ and lib/modules/ under DIR (a captured tree)",
    ),
    ...sourceFlags,
  ],
  args: [],
  examples: [
    "pmemctl doctor",
    "pmemctl doctor --json | jq '.checks[] | select(.status != \"ok\")'",
    "pmemctl doctor --root sosreport-host/ --dmesg sosreport-host/dmesg.txt",
  ],
  async run({ opt, out }) {
    const [gathered, { joinRegions }, { diagnose }, inputs, { SystemRoot }] =
      await Promise.all([
        gatherFrom(opt),
        import("../list/join.ts"),
        import("../doctor/checks.ts"),
        import("../doctor/inputs.ts"),
        import("../sysfs/root.ts"),
      ]);
    const sys = new SystemRoot(opt.optionalText("root") ?? "/");
    const list = joinRegions(gathered.obs);
    const checks = diagnose({
      list,
      obs: gathered.obs,
      log: gathered.logText,
      cmdline: gathered.cmdline,
      inputs: await inputs.readDoctorInputs(sys),
      sourceWarnings: [...gathered.warnings, ...sys.warnings],
    });
    const doc = doctorDocument(checks);
    if (opt.bool("json")) printJson(out, doc);
    else {
      const width = Math.max(...checks.map((c) => c.check.length));
      out.stdout(
        checks.map((c) =>
          escapeControls(
            `${c.status.padEnd(4)}  ${c.check.padEnd(width)}  ${c.found}${
              c.fix ? ` — fix: ${c.fix}` : ""
            }`,
          ).replace(/\n/g, " ") + "\n"
        ).join(""),
      );
    }
    const { failed } = doc;
    if (failed > 0) {
      throw new CheckFailedError(
        "doctor",
        `${failed} check${failed > 1 ? "s" : ""} failed`,
      );
    }
  },
};
