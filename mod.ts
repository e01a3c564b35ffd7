/**
 * pmemctl's library API: the building blocks the CLI uses, for scripts.
 *
 * Every persistent-memory range a kernel log, a command line and /proc/iomem
 * describe, joined (the live machine's or a captured tree's sources come
 * from `gather`):
 *
 * ```ts
 * import { joinRegions, parseE820, parseIomem, parseMemmap } from "./mod.ts";
 *
 * const result = joinRegions({
 *   e820: parseE820(
 *     "user: [mem 0x0000000040000000-0x000000004fffffff] persistent (type 12)\n",
 *   ),
 *   memmap: parseMemmap("console=ttyS0 memmap=256M!1G"),
 *   iomem: parseIomem("40000000-4fffffff : Persistent Memory (legacy)\n"),
 *   firmwareMemmap: undefined,
 *   nd: [],
 *   blocks: [],
 *   dax: [],
 *   mounts: [],
 * });
 * const [region] = result.regions;
 * if (region.start !== 0x40000000 || region.size !== 256 * 2 ** 20) {
 *   throw new Error("the range was not found");
 * }
 * ```
 *
 * Moving bytes and proving them (a regular file stands in for /dev/pmemN):
 *
 * ```ts
 * import { Target, verify, verifyReport, zeroRange } from "./mod.ts";
 *
 * const path = Deno.makeTempFileSync();
 * Deno.truncateSync(path, 1 << 20);
 * {
 *   using target = Target.open(path, "write", "example");
 *   await zeroRange(target, 0, 4096);
 * }
 * const report = verifyReport(
 *   await verify(path, {
 *     mode: "destructive",
 *     offset: 0,
 *     passes: 1,
 *     resume: false,
 *     force: true,
 *   }),
 * );
 * Deno.removeSync(path);
 * if (report.result !== "pass") throw new Error("verify failed");
 * ```
 *
 * @module
 */

export * from "./ffi/mod.ts";
export {
  CheckFailedError,
  ExitCode,
  PmemctlError,
  SystemError,
  UsageError,
} from "./src/errors.ts";
export {
  type CompletionCommand,
  fromSpec,
  renderCompletions,
  type Shell,
  SHELLS,
} from "./src/cli/completions.ts";
export { gather, type GatherOptions } from "./src/list/gather.ts";
export { joinRegions, type Observations } from "./src/list/join.ts";
export { listTable } from "./src/render/list.ts";
export {
  listDocument,
  type TargetInfo,
  targetInfo,
  type VerifyReport,
  verifyReport,
} from "./src/render/json.ts";
export { finalTable, parseE820 } from "./src/parse/e820.ts";
export { parseIomem } from "./src/parse/iomem.ts";
export { parseMemmap } from "./src/parse/cmdline.ts";
export { parseMountinfo } from "./src/parse/mountinfo.ts";
export { SystemRoot } from "./src/sysfs/root.ts";
export { Target } from "./src/target/target.ts";
export { durability } from "./src/target/info.ts";
export { windows } from "./src/target/windows.ts";
export {
  readRange,
  type Stream,
  writeRange,
  zeroRange,
} from "./src/map/transfer.ts";
export {
  MODES,
  verify,
  type VerifyMode,
  type VerifyOptions,
  type VerifyOutcome,
} from "./src/verify/run.ts";
export { type KmodStatus, kmodStatus } from "./src/kmod/kmod.ts";
export { hex, parseSize } from "./src/units.ts";
