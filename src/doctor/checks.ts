/**
 * `pmemctl doctor`'s checklist, as a pure function of what list gathered
 * and joined and what doctor read besides: each check is `ok`, `warn` or
 * `fail`, says what it found, and for anything not ok, the fix.
 *
 * @module
 */

import {
  type ListResult,
  namespaceDevices,
  type Observations,
} from "../list/join.ts";
import { iomemNodes } from "../parse/iomem.ts";
import { kernelLogLines } from "../parse/klog.ts";
import { E820_PRAM } from "../parse/e820_types.ts";
import { amount } from "../units.ts";
import { kmemDevices } from "../sysfs/block.ts";
import { hex } from "../units.ts";
import type { DoctorInputs } from "./inputs.ts";
import {
  cpuChecks,
  cxlChecks,
  platformModules,
  softReservedChecks,
  virtioChecks,
} from "./platforms.ts";

/** One line of the checklist. */
export interface Check {
  /** What was checked: `memmap`, `modules`, `namespace`… */
  check: string;
  status: "ok" | "warn" | "fail";
  found: string;
  /** What to do, for warn and fail. */
  fix?: string;
}

/** Everything the checks look at. */
export interface DoctorFacts {
  list: ListResult;
  obs: Observations;
  /** The kernel log's text, when readable. */
  log?: string;
  /** The kernel command line. */
  cmdline?: string;
  inputs: DoctorInputs;
  /** Warnings of the gathering itself: sources missing or refused. */
  sourceWarnings: string[];
}

const size = amount;
const span = (start: number, end: number) => `${hex(start)}-${hex(end)}`;

/** The kernel options pmem needs, what each gives, and when it is required. */
const OPTIONS: { name: string; gives: string; needed: (f: Need) => boolean }[] =
  [
    {
      name: "CONFIG_LIBNVDIMM",
      gives: "libnvdimm: every pmem device",
      needed: (n) => n.any,
    },
    {
      name: "CONFIG_BLK_DEV_PMEM",
      gives: "/dev/pmemN block devices (nd_pmem)",
      needed: (n) => n.any,
    },
    {
      name: "CONFIG_X86_PMEM_LEGACY",
      gives: "memmap= and type-12 ranges as regions (nd_e820)",
      needed: (n) => n.legacy,
    },
    {
      name: "CONFIG_FS_DAX",
      gives: "mount -o dax",
      needed: (n) => n.mounts,
    },
    {
      name: "CONFIG_DEV_DAX",
      gives: "/dev/daxN.M device-DAX",
      needed: (n) => n.devdax,
    },
  ];

/** What the machine's pmem needs. */
interface Need {
  any: boolean;
  legacy: boolean;
  nfit: boolean;
  devdax: boolean;
  mounts: boolean;
}

function need(f: DoctorFacts): Need {
  const requests = (f.obs.memmap?.requests ?? []).filter((r) =>
    r.kind === "pmem"
  );
  const regions = f.list.regions;
  const namespaces = regions.flatMap((r) => r.namespaces);
  return {
    any: regions.some((r) => r.persistent) || requests.length > 0 ||
      (f.list.cxl?.memdevs.some((m) => m.pmem_size > 0) ?? false),
    legacy: requests.length > 0 ||
      regions.some((r) => r.e820_type === E820_PRAM),
    nfit: regions.some((r) => r.provider === "ACPI.NFIT" || r.e820_type === 7),
    devdax: namespaces.some((n) => n.mode === "devdax"),
    mounts: namespaces.some((n) => (n.mounts ?? []).length > 0),
  };
}

/** The last kernel-log line about `names` that reports a failure. */
function logReason(
  log: string | undefined,
  names: string[],
): string | undefined {
  if (!log || names.length === 0) return undefined;
  const about = new RegExp(
    `\\b(${names.map((n) => n.replace(/[.]/g, "\\.")).join("|")})\\b`,
  );
  const bad =
    /fail|error|could not|unable|invalid|bad|conflict|busy|not supported|unsupported|-\d+\b/i;
  return kernelLogLines(log, about).filter((l) =>
    bad.test(l) && !/unable to guarantee persistence/.test(l)
  ).pop()?.trim();
}

/** The parts of `[start, end]` the firmware's table does not call usable RAM, described. */
function notUsable(
  firmware: {
    start: number;
    end: number;
    type: number | null;
    typeText: string;
  }[],
  start: number,
  end: number,
): string[] {
  const out: string[] = [];
  let at = start;
  const sorted = [...firmware].sort((a, b) => a.start - b.start);
  for (const e of sorted) {
    if (e.end < at || e.start > end) continue;
    if (e.start > at) {
      out.push(
        `${
          span(at, e.start - 1)
        } is no RAM at all (a hole: PCI or device space)`,
      );
    }
    const from = Math.max(e.start, at), to = Math.min(e.end, end);
    if (e.type !== 1) {
      out.push(`${span(from, to)} is ${e.typeText} in the firmware's table`);
    }
    at = to + 1;
    if (at > end) break;
  }
  if (at <= end) {
    out.push(`${span(at, end)} is no RAM at all (a hole: PCI or device space)`);
  }
  return out;
}

function memmapChecks(f: DoctorFacts): Check[] {
  const out: Check[] = [];
  for (const e of f.obs.memmap?.errors ?? []) {
    out.push({
      check: "memmap",
      status: "fail",
      found: `${e.text} is refused by the kernel: ${e.reason}`,
      fix: "pmemctl plan memmap SIZE proposes a valid one",
    });
  }
  const firmware = (f.obs.e820?.entries ?? []).filter((e) =>
    e.table === "firmware"
  );
  for (const req of f.obs.memmap?.requests ?? []) {
    if (req.kind !== "pmem") continue;
    const text = `memmap=${req.text}`;
    const start = req.start!, end = req.start! + req.size! - 1;
    const pieces = f.list.regions.filter((r) =>
      r.start !== null && r.start <= end && r.end! >= start
    );
    const outside = notUsable(firmware, start, end);
    if (firmware.length > 0 && outside.length > 0) {
      out.push({
        check: "memmap",
        status: "fail",
        found: `${text} covers more than usable RAM: ${
          outside.join(", ")
        }; it became ${pieces.length} type-12 piece${
          pieces.length === 1 ? "" : "s"
        }`,
        fix:
          "choose a range inside one usable-RAM entry of the firmware's e820 table: pmemctl plan memmap SIZE",
      });
      continue;
    }
    const region = pieces.find((r) => r.start === start && r.size === req.size);
    if (region && pieces.length === 1) {
      const dev = namespaceDevices(region);
      out.push({
        check: "memmap",
        status: "ok",
        found: `${text} became ${region.nd_region ?? "a type-12 range"}${
          dev.length ? ` (${dev.join(", ")})` : ""
        }: ${size(region.size)} at ${hex(region.start!)}`,
      });
      continue;
    }
    const warning = f.list.warnings.find((w) => w.startsWith(`${text} `));
    if (warning && /cannot be checked/.test(warning)) {
      out.push({
        check: "memmap",
        status: "warn",
        found: warning,
        fix:
          "run as root (or pass --dmesg with the boot log) so the request can be checked",
      });
      continue;
    }
    out.push({
      check: "memmap",
      status: "fail",
      found: warning ??
        `${text} became ${pieces.length} pieces, not one range of ${
          size(req.size!)
        }`,
      fix:
        "choose a range inside one usable-RAM entry of the e820 table: pmemctl plan memmap SIZE",
    });
  }
  const entries = (f.obs.memmap?.requests.length ?? 0) +
    (f.obs.memmap?.errors.length ?? 0);
  const kaslr = f.cmdline !== undefined &&
    !/(^|\s)nokaslr(\s|$)/.test(f.cmdline);
  if (entries > 4 && kaslr) {
    out.push({
      check: "memmap",
      status: "warn",
      found:
        `${entries} memmap= entries: the x86 decompressor tracks at most 4, so it gives up physical KASLR`,
      fix:
        "use at most 4 entries (fewer, larger ranges), or boot with nokaslr to say so",
    });
  }
  return out;
}

function kernelPlacement(f: DoctorFacts): Check[] {
  const requests = (f.obs.memmap?.requests ?? []).filter((r) =>
    r.kind === "pmem" || r.kind === "reserved"
  );
  if (requests.length === 0) return [];
  if (!f.obs.iomem || f.obs.iomem.hidden) {
    return [{
      check: "kernel-image",
      status: "warn",
      found:
        "cannot tell where the kernel image lies: /proc/iomem is unreadable or hidden",
      fix: "run pmemctl doctor as root",
    }];
  }
  const image = iomemNodes(f.obs.iomem).filter((n) =>
    /^Kernel (code|rodata|data|bss)$/.test(n.name)
  );
  for (const r of requests) {
    const start = r.start!, end = r.start! + r.size! - 1;
    const hit = image.find((n) => n.start <= end && n.end >= start);
    if (hit) {
      return [{
        check: "kernel-image",
        status: "fail",
        found: `${hit.name} (${
          span(hit.start, hit.end)
        }) lies inside memmap=${r.text}: KASLR placed the kernel in the reserved range`,
        fix:
          "boot with nokaslr, or move the range away from the kernel (pmemctl plan memmap)",
      }];
    }
  }
  return [{
    check: "kernel-image",
    status: "ok",
    found: "the kernel image lies outside every memmap= range",
  }];
}

function configChecks(f: DoctorFacts, n: Need): Check[] {
  const config = f.inputs.config;
  if (!config) {
    return [{
      check: "kernel-config",
      status: "warn",
      found: `no kernel configuration found (looked at ${
        f.inputs.configTried.join(", ")
      })`,
      fix:
        "install the kernel's config file, or load the configs module for /proc/config.gz",
    }];
  }
  const set: string[] = [];
  const out: Check[] = [];
  for (const o of OPTIONS) {
    const value = config.values[o.name];
    if (value === "y" || value === "m") {
      set.push(`${o.name}=${value}`);
      continue;
    }
    out.push({
      check: "kernel-config",
      status: o.needed(n) ? "fail" : "warn",
      found: `${o.name} is not set in ${config.source}: no ${o.gives}`,
      fix: o.name === "CONFIG_X86_PMEM_LEGACY"
        ? "use a kernel with it, or build pmem_legacy (pmemctl kmod build)"
        : `use a kernel built with ${o.name}`,
    });
  }
  if (set.length) {
    out.unshift({
      check: "kernel-config",
      status: "ok",
      found: `${set.join(", ")} (${config.source})`,
    });
  }
  return out;
}

function moduleChecks(f: DoctorFacts, n: Need): Check[] {
  const platform = platformModules(f.list);
  if (!n.any && platform.length === 0) return [];
  const wanted = [
    ...new Set([
      ...[
        ["libnvdimm", n.any],
        ["nd_pmem", n.any],
        ["nd_e820", n.legacy],
        ["nfit", n.nfit],
        ["device_dax", n.devdax],
        ["dax_pmem", n.devdax],
      ].filter(([, w]) => w).map(([name]) => name as string),
      ...platform,
    ]),
  ];
  const { loaded, builtin, available } = f.inputs.modules;
  if (!loaded) {
    return [{
      check: "modules",
      status: "warn",
      found:
        `cannot tell which modules are loaded (no /proc/modules or /sys/module); wanted: ${
          wanted.join(", ")
        }`,
      fix: "run on the machine itself, or capture proc/modules and sys/module",
    }];
  }
  const ok: string[] = [];
  const out: Check[] = [];
  for (const name of wanted) {
    if (loaded.has(name)) ok.push(name);
    else if (builtin?.has(name)) ok.push(`${name} (built in)`);
    else if (available?.has(name)) {
      out.push({
        check: "modules",
        status: "fail",
        found: `${name} is not loaded (available in ${
          f.inputs.release ?? "this kernel"
        })`,
        fix: `modprobe ${name}${
          name === "nd_e820" ? " (or pmemctl kmod build for pmem_legacy)" : ""
        }; to load it at boot: echo ${name} > /etc/modules-load.d/pmem.conf`,
      });
    } else {
      out.push({
        check: "modules",
        status: available || builtin ? "fail" : "warn",
        found: available || builtin
          ? `${name} is neither loaded nor in this kernel's modules`
          : `${name} is not loaded, and the kernel's module lists are unreadable`,
        fix: name === "nd_e820"
          ? "install the kernel's modules package, or pmemctl kmod build for pmem_legacy"
          : "install the kernel's modules package",
      });
    }
  }
  if (ok.length) {
    out.unshift({
      check: "modules",
      status: "ok",
      found: `loaded: ${ok.join(", ")}`,
    });
  }
  return out;
}

function claimChecks(f: DoctorFacts): Check[] {
  const out: Check[] = [];
  for (const r of f.list.regions) {
    if (r.start === null || !r.sources.includes("iomem")) continue;
    if (r.claimed_by !== null || !r.persistent) continue;
    out.push({
      check: "claimed",
      status: "fail",
      found: `${
        span(r.start, r.end!)
      } (type ${r.e820_type}) is not claimed by any driver`,
      fix: r.e820_type === E820_PRAM
        ? "modprobe nd_e820 for /dev/pmemN (or pmemctl kmod build for pmem_legacy)"
        : "modprobe nfit nd_pmem",
    });
  }
  const claimed = f.list.regions.filter((r) => r.claimed_by !== null);
  if (out.length === 0 && claimed.length > 0) {
    out.push({
      check: "claimed",
      status: "ok",
      found: claimed.map((r) =>
        `${r.start !== null ? hex(r.start) : r.nd_region} by ${r.claimed_by}`
      ).join(", "),
    });
  }
  return out;
}

function namespaceChecks(f: DoctorFacts): Check[] {
  const out: Check[] = [];
  for (const region of f.inputs.disabledRegions) {
    const why = logReason(f.log, [region]);
    out.push({
      check: "namespace",
      status: "fail",
      found: `${region} is disabled: no driver is bound${
        why ? ` (log: ${why})` : ""
      }`,
      fix: `ndctl enable-region ${region}`,
    });
  }
  for (const region of f.obs.nd) {
    for (const ns of region.namespaces) {
      if (ns.driver) continue;
      const names = [ns.dev, ns.holder, ns.blockdev].filter(
        Boolean,
      ) as string[];
      const why = logReason(f.log, names);
      out.push({
        check: "namespace",
        status: "fail",
        found:
          `${ns.dev} (${ns.mode}, ${region.dev}) is disabled: no driver is bound${
            why ? ` (log: ${why})` : ""
          }`,
        fix: `ndctl enable-namespace ${ns.dev}`,
      });
    }
    const active = region.namespaces.filter((ns) => ns.size > 0);
    if (
      active.length === 0 && region.size > 0 &&
      !f.inputs.disabledRegions.includes(region.dev)
    ) {
      out.push({
        check: "namespace",
        status: "warn",
        found: `${region.dev} (${
          size(region.size)
        }) holds no namespace: its capacity is idle`,
        fix: `ndctl create-namespace -r ${region.dev} -m fsdax (or -m devdax)`,
      });
    }
  }
  for (const b of f.obs.blocks) {
    if (!b.node) {
      out.push({
        check: "namespace",
        status: "warn",
        found: `/sys/block/${b.name} exists but /dev/${b.name} does not`,
        fix: "mount devtmpfs on /dev, or run udevadm trigger",
      });
    }
  }
  const count = f.obs.nd.reduce((n, r) => n + r.namespaces.length, 0);
  if (out.length === 0 && count > 0) {
    out.push({
      check: "namespace",
      status: "ok",
      found: `${count} namespace${count > 1 ? "s" : ""}, all enabled`,
    });
  }
  return out;
}

function daxChecks(f: DoctorFacts): Check[] {
  const out: Check[] = [];
  const refusals = kernelLogLines(
    f.log ?? "",
    /DAX unsupported|unsupported blocksize for DAX|Turning off DAX/,
  );
  const namespaces = f.list.regions.flatMap((r) => r.namespaces);
  const seen = new Set<string>();
  for (const line of refusals) {
    const dev = line.match(/\((\w+)\):/)?.[1];
    if (!dev || seen.has(dev)) continue;
    seen.add(dev);
    const mounted = namespaces.find((n) => n.blockdev === dev)?.mounts ?? [];
    if (mounted.some((m) => m.dax === "always")) continue;
    // Mounted without DAX now: that is the refusal's result. Not mounted: history, or why a mount failed.
    out.push({
      check: "dax",
      status: mounted.length > 0 ? "fail" : "warn",
      found: `the kernel refused DAX on ${dev}${
        mounted.length > 0
          ? `, now mounted on ${
            mounted.map((m) => m.path).join(", ")
          } without it`
          : ""
      }: ${line.trim()}`,
      fix: /blocksize/.test(line)
        ? `make the filesystem with the page size as block size (mkfs.ext4 -b 4096 /dev/${dev}, mkfs.xfs -b size=4096)`
        : `${dev} cannot map its pages directly (sector mode or a partition misaligned?): use an fsdax namespace (ndctl create-namespace -m fsdax)`,
    });
  }
  for (const ns of namespaces) {
    for (const m of ns.mounts ?? []) {
      if (m.dax === "always" && ns.dax) {
        out.push({
          check: "dax",
          status: "ok",
          found:
            `${m.path} (${m.fstype} on ${ns.blockdev}) is mounted dax=always`,
        });
      } else if (!ns.dax) {
        out.push({
          check: "dax",
          status: "warn",
          found:
            `${m.path} (${m.fstype} on ${ns.blockdev}): the device does not support DAX (${ns.mode} mode): files go through the page cache`,
          fix:
            "use an fsdax namespace (ndctl create-namespace -m fsdax) for DAX",
        });
      } else {
        out.push({
          check: "dax",
          status: "warn",
          found: `${m.path} (${m.fstype} on ${ns.blockdev}) is mounted ${
            m.dax === "inode"
              ? "dax=inode: only files with the DAX flag bypass the page cache"
              : `without DAX (${
                m.dax ?? "no dax option"
              }): files go through the page cache`
          }`,
          fix: `mount -o dax=always /dev/${ns.blockdev} ${m.path}`,
        });
      }
    }
  }
  return out;
}

function badblockChecks(f: DoctorFacts): Check[] {
  const out: Check[] = [];
  for (const r of f.list.regions) {
    for (const ns of r.namespaces) {
      if (ns.badblock_count === 0) continue;
      const dev = ns.blockdev ?? ns.chardev ?? ns.dev;
      out.push({
        check: "badblocks",
        status: "fail",
        found: `${dev} has ${ns.badblock_count} known bad 512-byte sector${
          ns.badblock_count > 1 ? "s" : ""
        } (reads there fail with EIO or SIGBUS)`,
        fix:
          `pmemctl verify /dev/${dev} locates them; rewriting the range (or ndctl clear-errors) clears them where the media allows`,
      });
    }
  }
  if (out.length === 0 && f.list.regions.some((r) => r.namespaces.length)) {
    out.push({
      check: "badblocks",
      status: "ok",
      found: "no known bad blocks",
    });
  }
  return out;
}

function persistenceChecks(f: DoctorFacts): Check[] {
  const out: Check[] = [];
  for (const r of f.list.regions) {
    if (!r.nd_region) continue;
    const domain = r.persistence_domain;
    const written = r.namespaces.some((n) => (n.mounts ?? []).length > 0);
    if (domain === "cpu_cache" || domain === "memory_controller") {
      out.push({
        check: "persistence",
        status: "ok",
        found: `${r.nd_region}: persistence domain ${domain}`,
      });
    } else if (r.provider === "e820") {
      out.push({
        check: "persistence",
        status: written ? "warn" : "ok",
        found:
          `${r.nd_region} is memmap=/type-12 memory: its content survives a warm reboot, not a power cycle${
            written ? ", and a filesystem is mounted on it" : ""
          }`,
        ...(written
          ? { fix: "keep only data you can lose there, or use an NVDIMM" }
          : {}),
      });
    } else {
      out.push({
        check: "persistence",
        status: written ? "warn" : "ok",
        found: `${r.nd_region}: persistence domain ${domain || "unknown"}${
          written ? ", and a filesystem is mounted on it" : ""
        }`,
        ...(written
          ? {
            fix:
              "flush what matters (MAP_SYNC, msync, fsync) and confirm the platform's power-fail protection",
          }
          : {}),
      });
    }
  }
  return out;
}

function kmemChecks(f: DoctorFacts): Check[] {
  return kmemDevices(f.obs.dax).map((d): Check =>
    d.online === d.blocks && d.blocks > 0
      ? {
        check: "system-ram",
        status: "ok",
        found:
          `${d.name} is System RAM (kmem): ${d.blocks} memory blocks online`,
      }
      : {
        check: "system-ram",
        status: "warn",
        found:
          `${d.name} is System RAM (kmem) with ${d.online} of ${d.blocks} memory blocks online${
            d.offline.length
              ? ` (offline: ${d.offline.slice(0, 4).join(", ")}${
                d.offline.length > 4 ? ", …" : ""
              })`
              : ""
          }`,
        fix: `daxctl online-memory ${d.name}`,
      }
  );
}

/** The whole checklist, in a fixed order. */
export function diagnose(f: DoctorFacts): Check[] {
  const n = need(f);
  const checks: Check[] = [];
  for (const w of f.sourceWarnings) {
    checks.push({
      check: "sources",
      status: "warn",
      found: w,
      fix: /root|refused|denied|readable/.test(w)
        ? "run pmemctl doctor as root"
        : "pass --dmesg FILE or --root DIR with what is missing",
    });
  }
  if (!n.any) {
    checks.push({
      check: "pmem",
      status: "warn",
      found:
        "no persistent memory: no memmap= request, no type-7 or type-12 range in the e820 table, /proc/iomem or libnvdimm, and no CXL device with persistent capacity",
      fix: "pmemctl plan memmap SIZE proposes a memmap= for this machine",
    });
  }
  checks.push(
    ...memmapChecks(f),
    ...kernelPlacement(f),
    ...configChecks(f, n),
    ...moduleChecks(f, n),
    ...claimChecks(f),
    ...namespaceChecks(f),
    ...daxChecks(f),
    ...badblockChecks(f),
    ...persistenceChecks(f),
    ...kmemChecks(f),
    ...cxlChecks(f.list),
    ...virtioChecks(f.list),
    ...softReservedChecks(f.list),
    ...cpuChecks(f.inputs.patternCode),
  );
  return checks;
}
