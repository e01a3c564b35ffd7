/**
 * `pmemctl plan check`: what the booted kernel made of a planned `memmap=`
 * parameter, request by request. Pure: the plan's text parsed, the booted
 * command line parsed, and list's joined regions in; verdicts out.
 *
 * @module
 */

import { type ListResult, namespaceDevices } from "../list/join.ts";
import type { MemmapParse } from "../parse/cmdline.ts";

/** One planned request and what became of it. */
export interface PlanVerdict {
  /** The request as planned: `memmap=512M!4G`. */
  param: string;
  start: number;
  size: number;
  /** Whether the booted kernel's command line carries it. */
  on_cmdline: boolean;
  /** Whether a region of exactly that range exists and a driver holds it. */
  realised: boolean;
  region?: string;
  devices?: string[];
  /** Why not, when not realised. */
  reason?: string;
}

/** Compares each pmem request of `planned` with the booted kernel. */
export function checkPlan(
  planned: MemmapParse,
  booted: MemmapParse | undefined,
  list: ListResult,
): PlanVerdict[] {
  return planned.requests.filter((r) => r.kind === "pmem").map((req) => {
    const param = `memmap=${req.text}`;
    const start = req.start!, size = req.size!;
    const onCmdline = (booted?.requests ?? []).some((b) =>
      b.kind === "pmem" && b.start === start && b.size === size
    );
    const base = { param, start, size, on_cmdline: onCmdline };
    if (!onCmdline) {
      return {
        ...base,
        realised: false,
        reason:
          "the booted kernel's command line does not carry it (was the boot loader updated: update-grub, grubby?)",
      };
    }
    const region = list.regions.find((r) =>
      r.start === start && r.size === size
    );
    if (!region) {
      const warning = list.warnings.find((w) =>
        w.startsWith("memmap=") &&
        (list.regions.length === 0 || /did not become|became only/.test(w)) &&
        w.includes(req.text)
      );
      return {
        ...base,
        realised: false,
        reason: warning ?? "no persistent-memory region of exactly that range",
      };
    }
    const devices = namespaceDevices(region);
    if (region.claimed_by === null || devices.length === 0) {
      return {
        ...base,
        realised: false,
        region: region.nd_region,
        reason:
          "the range is persistent memory but no driver holds it (modprobe nd_e820; pmemctl doctor says more)",
      };
    }
    return { ...base, realised: true, region: region.nd_region, devices };
  });
}
