/**
 * Every JSON document pmemctl prints or keeps, built here and nowhere
 * else, each from what the library found (as ndctl builds every object in
 * util/json.c). The keys are the spec's; a document's type says which are
 * always there. The export formats (Prometheus, Ansible facts, NFD labels)
 * follow their consumers and live in export/.
 *
 * @module
 */

import { hex, humanSize } from "../units.ts";
import type { ListNamespace, ListResult } from "../list/join.ts";
import type { CxlView } from "../sysfs/cxl.ts";
import type { VerifyRecord } from "../state/results.ts";
import type { Target, TargetKind } from "../target/target.ts";
import type { Durability, TargetIo } from "../target/info.ts";
import type { WriteReport } from "../map/transfer.ts";
import type {
  ModeFindings,
  VerifyIo,
  VerifyMode,
  VerifyOutcome,
} from "../verify/run.ts";
import type { Check } from "../doctor/checks.ts";
import type { PlanVerdict } from "../plan/check.ts";

// ---------------------------------------------------------------- list

/** `list --json`: `{ regions, warnings }`; with `human`, ndctl -u style sizes and hex addresses. */
export function listDocument(
  result: ListResult,
  human = false,
  verify: VerifyRecord[] = [],
): unknown {
  const size = (n: number) => human ? humanSize(n) : n;
  const last = (n: ListNamespace) =>
    verify.filter((v) =>
      v.target === `/dev/${n.blockdev}` || v.target === `/dev/${n.chardev}`
    );
  const addr = (n: number | null) => n === null ? null : human ? hex(n) : n;
  return {
    regions: result.regions.map((r) => ({
      ...r,
      start: addr(r.start),
      end: addr(r.end),
      size: size(r.size),
      namespaces: r.namespaces.map((n) => {
        const records = last(n);
        return {
          ...n,
          size: size(n.size),
          ...(records.length ? { verify: records } : {}),
        };
      }),
      ...(r.claims
        ? {
          claims: r.claims.map((c) => ({
            ...c,
            start: addr(c.start),
            end: addr(c.end),
          })),
        }
        : {}),
    })),
    ...(result.cxl ? { cxl: cxlDocument(result.cxl, size, addr) } : {}),
    ...(verify.length ? { verify } : {}),
    warnings: result.warnings,
  };
}

/** list's `cxl` section: sizes and addresses as the rest of the document has them. */
function cxlDocument(
  cxl: CxlView,
  size: (n: number) => unknown,
  addr: (n: number | null) => unknown,
): unknown {
  return {
    memdevs: cxl.memdevs.map((m) => ({
      ...m,
      pmem_size: size(m.pmem_size),
      ram_size: size(m.ram_size),
      pmem_free: size(m.pmem_free),
    })),
    root_decoders: cxl.root_decoders.map((d) => ({
      ...d,
      start: addr(d.start),
      size: size(d.size),
      free: size(d.free),
    })),
    regions: cxl.regions.map((r) => ({
      ...r,
      start: addr(r.start),
      size: size(r.size),
    })),
  };
}

// ---------------------------------------------------------------- verify

/** `verify --json`: the report (spec keys first). */
export interface VerifyReport extends ModeFindings {
  path: string;
  mode: VerifyMode;
  offset: number;
  length: number;
  bytes_checked: number;
  mismatch_count: number;
  mismatches: { offset: number; expected: number; actual: number }[];
  bad_ranges: { offset: number; length: number; reason: string }[];
  seconds: number;
  bytes_per_second: number;
  /**
   * How the bytes moved: `mmap` (stores and loads through the mapping, each
   * window flushed: DAX targets, and rw), `pwrite` (fill through pwrite, each
   * window made durable by fdatasync, compare through pread: page-cache
   * targets), `pread` (scan of a file; check of a page-cache target),
   * `o_direct` (every mode but rw on a block device, past the page cache).
   */
  io: VerifyIo;
  /** Threads that moved the bytes (`--jobs`, fewer when the range has fewer windows). */
  jobs: number;
  /** Everything this run wrote was made durable by a real flush (true when it wrote nothing). */
  durable: boolean;
  /** fail when a byte differs, a range is bad, a reason says so, or a signal stopped the run. */
  result: "pass" | "fail";
  /** Set when a signal stopped the run before its end. */
  interrupted?: string;
}

/** The report of a verify run. */
export function verifyReport(o: VerifyOutcome): VerifyReport {
  const failed = o.log.count > 0 || o.log.ranges.length > 0 ||
    o.found.reason !== undefined || o.interrupted !== undefined;
  return {
    path: o.path,
    mode: o.mode,
    offset: o.range.offset,
    length: o.range.length,
    bytes_checked: o.checked,
    mismatch_count: o.log.count,
    mismatches: o.log.first,
    bad_ranges: o.log.ranges,
    seconds: Math.round(o.seconds * 1000) / 1000,
    bytes_per_second: o.seconds > 0 ? Math.round(o.checked / o.seconds) : 0,
    io: o.io,
    jobs: o.jobs,
    durable: o.durable,
    result: failed ? "fail" : "pass",
    ...(o.interrupted ? { interrupted: o.interrupted } : {}),
    ...o.found,
  };
}

/** What the state file keeps of a report (`verify --record`; list and export show it). */
export function verifyRecord(
  target: string,
  report: VerifyReport,
  time: Date,
): VerifyRecord {
  return {
    target,
    mode: report.mode,
    result: report.result,
    time: time.toISOString(),
    offset: report.offset,
    length: report.length,
    bytes_checked: report.bytes_checked,
    mismatch_count: report.mismatch_count,
    ...(report.seed !== undefined ? { seed: report.seed } : {}),
  };
}

// ---------------------------------------------------------------- map

/** `map info --json` (spec keys first). */
export interface TargetInfo extends Durability {
  path: string;
  kind: TargetKind;
  size: number;
  /** The mapping bypasses the page cache. */
  dax: boolean;
  align: number;
  io: TargetIo;
  /** The kernel's name for it (`pmem0`, `dax0.0`), for devices. */
  device?: string;
}

/** `map info`'s document: the target, then how its writes become durable. */
export function targetInfo(t: Target, d: Durability): TargetInfo {
  return {
    path: t.path,
    kind: t.kind,
    size: t.size,
    dax: t.dax,
    map_sync: d.map_sync,
    align: t.align,
    persistence: d.persistence,
    io: t.io,
    ...(t.device ? { device: t.device } : {}),
    cache_flush: d.cache_flush,
    ...(d.persistence_domain
      ? { persistence_domain: d.persistence_domain }
      : {}),
    warnings: d.warnings,
  };
}

/** `map read|write|zero --json`: what moved, how, and how fast. */
export interface TransferDocument {
  path: string;
  op: "read" | "write" | "zero";
  offset: number;
  bytes: number;
  jobs: number;
  io: TargetIo;
  durable: boolean;
  seconds: number;
  bytes_per_second: number | null;
}

/** The document of a transfer that took `seconds`. */
export function transferDocument(
  t: Target,
  op: TransferDocument["op"],
  offset: number,
  report: WriteReport,
  seconds: number,
): TransferDocument {
  return {
    path: t.path,
    op,
    offset,
    bytes: report.bytes,
    jobs: report.jobs,
    io: t.io,
    durable: report.durable,
    seconds: Number(seconds.toFixed(3)),
    bytes_per_second: seconds > 0 ? Math.round(report.bytes / seconds) : null,
  };
}

// ---------------------------------------------------------------- doctor and plan

/** `doctor --json`: every check, and how many failed or warned. */
export function doctorDocument(
  checks: Check[],
): { checks: Check[]; failed: number; warned: number } {
  return {
    checks,
    failed: checks.filter((c) => c.status === "fail").length,
    warned: checks.filter((c) => c.status === "warn").length,
  };
}

/** `plan check --json`: one verdict per requested range, and how many did not become pmem. */
export function planCheckDocument(
  verdicts: PlanVerdict[],
): { requests: PlanVerdict[]; failed: number } {
  return {
    requests: verdicts,
    failed: verdicts.filter((v) => !v.realised).length,
  };
}

// `plan memmap --json` and `plan cxl --json` print the planner's MemmapPlan
// and CxlPlan as they are, and `kmod status --json` its KmodStatus: those
// types are their documents (plan/memmap.ts, plan/cxl.ts, kmod/kmod.ts).
