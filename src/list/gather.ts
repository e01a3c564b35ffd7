/**
 * Reads every source `pmemctl list` joins, from the live system or a
 * captured tree, and says in warnings what was missing or refused.
 *
 * @module
 */

import { lazyImport } from "../lazy.ts";
import { CAPS, readUserFile } from "../bounded.ts";
import { parseMemmap } from "../parse/cmdline.ts";
import { parseE820 } from "../parse/e820.ts";
import { parseFirmwareMemmap } from "../parse/firmware_memmap.ts";
import { parseIomem } from "../parse/iomem.ts";
import { kernelLogLines } from "../parse/klog.ts";
import { parseMountinfo } from "../parse/mountinfo.ts";
import { readDaxDevices, readPmemBlocks } from "../sysfs/block.ts";
import { readCxl } from "../sysfs/cxl.ts";
import { readNdRegions } from "../sysfs/nd.ts";
import { SystemRoot } from "../sysfs/root.ts";
import type { Observations } from "./join.ts";

/** Where `list` reads from. */
export interface GatherOptions {
  /** A captured tree to read instead of `/`. */
  root?: string;
  /** A kernel log file, or `-` for `stdinText`. */
  dmesg?: string;
  /** A file holding the kernel command line. */
  cmdline?: string;
  /** Standard input's text, for `--dmesg -`. */
  stdinText?: string;
}

/** Where captured trees keep the kernel log, most specific first. */
export const CAPTURED_LOGS = [
  "dmesg.txt",
  "sos_commands/kernel/dmesg",
  "sos_commands/kernel/dmesg_-T",
  "sos_commands/logs/journalctl_--no-pager_--catalog_--boot_-k",
  "var/log/dmesg",
  "var/log/kern.log",
];

/** The kernel log's text and where it came from, or a warning. */
async function kernelLog(
  options: GatherOptions,
  sys: SystemRoot,
): Promise<{ text?: string; warning?: string }> {
  if (options.dmesg === "-") return { text: options.stdinText ?? "" };
  if (options.dmesg) {
    return { text: readUserFile(options.dmesg, "--dmesg", CAPS.log) };
  }
  if (options.root) {
    for (const name of CAPTURED_LOGS) {
      const text = sys.text(`/${name}`, CAPS.log);
      if (text !== undefined) return { text };
    }
    return {
      warning: `no kernel log under ${options.root} (looked for ${
        CAPTURED_LOGS.join(", ")
      }); pass --dmesg FILE`,
    };
  }
  // libc only for the live log (libc.ts itself, not the ffi barrel: list
  // needs no mapping code); a --root or --dmesg run never loads it.
  const { klogReadAll, kmsgReadAll, OsError } = await lazyImport<
    typeof import("../../ffi/libc.ts")
  >("ffi/libc.ts");
  try {
    return { text: klogReadAll() };
  } catch (first) {
    try {
      return { text: kmsgReadAll() };
    } catch {
      const code = first instanceof OsError ? first.code : String(first);
      return {
        warning:
          `the kernel log is not readable (klogctl: ${code}): run as root or pass --dmesg FILE`,
      };
    }
  }
}

/** Reads every source; returns what they said and warnings about what they did not. */
export async function gather(
  options: GatherOptions,
): Promise<{
  obs: Observations;
  warnings: string[];
  logText?: string;
  cmdline?: string;
}> {
  const sys = new SystemRoot(options.root ?? "/");
  const warnings: string[] = [];
  const where = options.root ? ` under ${options.root}` : "";

  const log = await kernelLog(options, sys);
  if (log.warning) warnings.push(log.warning);
  const e820 = log.text !== undefined ? parseE820(log.text) : undefined;
  if (e820) warnings.push(...e820.warnings);
  if (e820 && e820.entries.length === 0) {
    warnings.push(
      "the kernel log holds no e820 table (its boot lines have rotated out of the ring buffer?): going on without it",
    );
  }
  if (e820 && e820.boots > 1) {
    warnings.push(`the kernel log holds ${e820.boots} boots: using the last`);
  }

  let cmdline = options.cmdline
    ? readUserFile(options.cmdline, "--cmdline", CAPS.text)
    : sys.text("/proc/cmdline");
  if (cmdline === undefined && log.text !== undefined) {
    // A log alone: take the last boot's "Command line:".
    const lines = kernelLogLines(log.text, /Command line: /).filter((l) =>
      l.startsWith("Command line: ")
    );
    cmdline = lines.at(-1)?.slice("Command line: ".length);
  }
  if (cmdline === undefined) {
    warnings.push(`no kernel command line${where} (proc/cmdline)`);
  }

  const iomemText = sys.text("/proc/iomem", CAPS.table);
  const iomem = iomemText !== undefined ? parseIomem(iomemText) : undefined;
  if (iomem === undefined) warnings.push(`no /proc/iomem${where}`);
  else if (iomem.warnings.length > 0) warnings.push(...iomem.warnings);
  if (iomem?.hidden) {
    warnings.push(
      "/proc/iomem shows every address as 0 (reading it needs root): addresses come from the other sources",
    );
  }

  const memmapDirs = sys.list("/sys/firmware/memmap").filter((n) =>
    /^\d+$/.test(n)
  ).map((n) => ({
    index: Number(n),
    start: sys.attr(`/sys/firmware/memmap/${n}/start`) ?? "",
    end: sys.attr(`/sys/firmware/memmap/${n}/end`) ?? "",
    type: sys.attr(`/sys/firmware/memmap/${n}/type`) ?? "",
  }));

  const nd = readNdRegions(sys);
  if (options.root && !sys.exists("/sys/bus/nd")) {
    warnings.push(`no sys/bus/nd${where}`);
  }
  const mountText = sys.text("/proc/self/mountinfo", CAPS.table);

  const obs: Observations = {
    e820,
    memmap: cmdline !== undefined ? parseMemmap(cmdline) : undefined,
    iomem,
    firmwareMemmap: memmapDirs.length > 0
      ? parseFirmwareMemmap(memmapDirs, warnings)
      : undefined,
    nd,
    blocks: readPmemBlocks(sys),
    dax: readDaxDevices(sys),
    mounts: mountText !== undefined ? parseMountinfo(mountText) : [],
    cxl: readCxl(sys),
  };
  if (nd.some((r) => r.start === undefined) && sys.denied.size > 0) {
    warnings.push("libnvdimm region addresses are readable by root only");
  }
  warnings.push(...sys.warnings);
  return { obs, warnings, logText: log.text, cmdline };
}
