/**
 * The facts in Prometheus' text exposition format, for node_exporter's
 * textfile collector: `pmem_` names, base units (`_bytes`, `_seconds`),
 * booleans as 0/1 gauges, descriptive labels on `_info` metrics.
 *
 * @module
 */

import { hex } from "../units.ts";
import type { PmemFacts } from "./facts.ts";

type Labels = Record<string, string | number | undefined | null>;

/** A label value escaped as the format asks: backslash, quote and newline. */
export function escapeLabel(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(
    /\n/g,
    "\\n",
  );
}

function labels(l: Labels): string {
  const parts = Object.entries(l)
    .filter(([, v]) => v !== undefined && v !== null)
    .map(([k, v]) => `${k}="${escapeLabel(String(v))}"`);
  return parts.length ? `{${parts.join(",")}}` : "";
}

class Metrics {
  #out: string[] = [];
  #samples = new Map<string, string[]>();
  #help = new Map<string, string>();

  gauge(name: string, help: string, l: Labels, value: number): void {
    if (!this.#help.has(name)) {
      this.#help.set(name, help);
      this.#samples.set(name, []);
    }
    this.#samples.get(name)!.push(`${name}${labels(l)} ${value}`);
  }

  /** Declares a metric that may have no sample (still listed, for discovery). */
  declare(name: string, help: string): void {
    if (!this.#help.has(name)) {
      this.#help.set(name, help);
      this.#samples.set(name, []);
    }
  }

  text(): string {
    for (const [name, help] of this.#help) {
      this.#out.push(`# HELP ${name} ${help}`, `# TYPE ${name} gauge`);
      this.#out.push(...this.#samples.get(name)!);
    }
    return this.#out.join("\n") + "\n";
  }
}

const MOUNT_DAX_HELP =
  "Whether a filesystem on pmem maps its files directly (1: dax=always on a DAX device) or not (0); requested is the mount's dax option.";

/** CXL memdevs (capacity, free persistent capacity, dirty shutdowns) and regions. */
function cxlMetrics(m: Metrics, f: PmemFacts): void {
  if (!f.cxl) return;
  for (const d of f.cxl.memdevs) {
    const id = { memdev: d.memdev };
    m.gauge(
      "pmem_cxl_memdev_info",
      "Descriptive labels of each CXL memory device; always 1.",
      { ...id, serial: d.serial, host: d.host },
      1,
    );
    m.gauge(
      "pmem_cxl_memdev_pmem_bytes",
      "Persistent capacity of each CXL memory device.",
      id,
      d.pmem_size,
    );
    m.gauge(
      "pmem_cxl_memdev_pmem_free_bytes",
      "Persistent capacity of each CXL memory device that no region uses.",
      id,
      d.pmem_free,
    );
    m.gauge(
      "pmem_cxl_memdev_ram_bytes",
      "Volatile capacity of each CXL memory device.",
      id,
      d.ram_size,
    );
  }
  m.declare(
    "pmem_cxl_memdev_dirty_shutdowns",
    "Shutdowns in which a CXL memory device could have lost data (where the kernel counts them).",
  );
  for (const d of f.cxl.memdevs) {
    if (d.dirty_shutdown === null) continue;
    m.gauge("pmem_cxl_memdev_dirty_shutdowns", "", {
      memdev: d.memdev,
    }, d.dirty_shutdown);
  }
  m.declare(
    "pmem_cxl_region_committed",
    "Whether each CXL region's decoders are committed (1) or not (0).",
  );
  for (const r of f.cxl.regions) {
    const id = { region: r.region };
    m.gauge(
      "pmem_cxl_region_info",
      "Descriptive labels of each CXL region; always 1.",
      {
        ...id,
        type: r.type ?? "",
        decoder: r.decoder,
        memdevs: r.memdevs.join(","),
        nd_region: r.nd_region ?? "",
      },
      1,
    );
    m.gauge(
      "pmem_cxl_region_size_bytes",
      "Size of each CXL region.",
      id,
      r.size,
    );
    m.gauge(
      "pmem_cxl_region_committed",
      "",
      id,
      r.decode_state === "commit" ? 1 : 0,
    );
  }
}

/** Who wrote the file, and how much pmem the host has. */
function hostMetrics(m: Metrics, f: PmemFacts): void {
  m.gauge(
    "pmem_exporter_info",
    "The pmemctl that wrote these metrics; always 1.",
    { version: f.pmemctl_version },
    1,
  );
  m.gauge(
    "pmem_present",
    "Whether the host has any persistent-memory range (1) or none (0).",
    {},
    f.present ? 1 : 0,
  );
  m.gauge(
    "pmem_size_bytes",
    "Bytes of persistent memory in all ranges.",
    {},
    f.total_bytes,
  );
}

/** One series per range. */
function regionMetrics(m: Metrics, f: PmemFacts): void {
  for (const r of f.regions) {
    const id = {
      region: r.nd_region ?? "",
      start: r.start !== null ? hex(r.start) : "",
    };
    m.gauge(
      "pmem_region_info",
      "Descriptive labels of each persistent-memory range; always 1.",
      {
        ...id,
        end: r.end !== null ? hex(r.end) : "",
        e820_type: r.e820_type ?? "",
        provider: r.provider ?? "",
        claimed_by: r.claimed_by ?? "",
        persistence_domain: r.persistence_domain,
      },
      1,
    );
    m.gauge(
      "pmem_region_size_bytes",
      "Size of each persistent-memory range.",
      id,
      r.size,
    );
    m.gauge(
      "pmem_region_claimed",
      "Whether a driver holds the range (1) or none does (0).",
      id,
      r.claimed_by !== null ? 1 : 0,
    );
  }
}

/** One series per namespace, and per mount of one. */
function namespaceMetrics(m: Metrics, f: PmemFacts): void {
  for (const n of f.namespaces) {
    const id = {
      namespace: n.dev,
      region: n.region ?? "",
      device: n.blockdev ?? n.chardev ?? "",
    };
    m.gauge(
      "pmem_namespace_info",
      "Descriptive labels of each namespace; always 1.",
      { ...id, mode: n.mode, map: n.map ?? "", uuid: n.uuid ?? "" },
      1,
    );
    m.gauge(
      "pmem_namespace_size_bytes",
      "Usable bytes of each namespace.",
      id,
      n.size,
    );
    m.gauge(
      "pmem_namespace_dax",
      "Whether mappings of the namespace bypass the page cache (1) or not (0).",
      id,
      n.dax ? 1 : 0,
    );
    m.gauge(
      "pmem_namespace_bad_sectors",
      "Bad 512-byte sectors the kernel knows of in the namespace.",
      id,
      n.badblock_count,
    );
    for (const mount of n.mounts ?? []) {
      m.gauge(
        "pmem_mount_dax",
        MOUNT_DAX_HELP,
        {
          mountpoint: mount.path,
          device: n.blockdev ?? "",
          fstype: mount.fstype,
          requested: mount.dax ?? "none",
        },
        mount.dax === "always" && n.dax ? 1 : 0,
      );
    }
  }
  m.declare("pmem_mount_dax", MOUNT_DAX_HELP);
}

/** Whether each memmap= request became its range. */
function memmapMetrics(m: Metrics, f: PmemFacts): void {
  m.declare(
    "pmem_memmap_request_realised",
    "Whether each memmap=SIZE!START request became exactly that range (1) or not (0).",
  );
  for (const r of f.memmap) {
    m.gauge(
      "pmem_memmap_request_realised",
      "",
      { param: r.param, start: hex(r.start), size: r.size },
      r.realised ? 1 : 0,
    );
  }
  m.gauge(
    "pmem_memmap_requests_unrealised",
    "memmap=SIZE!START requests that did not become a range.",
    {},
    f.memmap.filter((r) => !r.realised).length,
  );
}

/** Device-DAX given to the kernel as System RAM. */
function systemRamMetrics(m: Metrics, f: PmemFacts): void {
  m.declare(
    "pmem_system_ram_memory_blocks",
    "Memory blocks of device-DAX given to the kernel as System RAM (kmem), by state.",
  );
  for (const d of f.system_ram) {
    m.gauge("pmem_system_ram_memory_blocks", "", {
      device: d.name,
      state: "online",
    }, d.online);
    m.gauge("pmem_system_ram_memory_blocks", "", {
      device: d.name,
      state: "offline",
    }, d.blocks - d.online);
  }
}

/** The last recorded verify of each target and mode. */
function verifyMetrics(m: Metrics, f: PmemFacts): void {
  m.declare(
    "pmem_verify_last_success",
    "Whether the last recorded pmemctl verify of a target passed (1) or failed (0).",
  );
  m.declare(
    "pmem_verify_last_timestamp_seconds",
    "When the last recorded pmemctl verify of a target ended, Unix time.",
  );
  m.declare(
    "pmem_verify_last_mismatched_bytes",
    "Bytes that differed in the last recorded pmemctl verify of a target.",
  );
  for (const v of f.verify) {
    const id = { target: v.target, mode: v.mode };
    m.gauge("pmem_verify_last_success", "", id, v.result === "pass" ? 1 : 0);
    m.gauge(
      "pmem_verify_last_timestamp_seconds",
      "",
      id,
      Date.parse(v.time) / 1000,
    );
    m.gauge("pmem_verify_last_mismatched_bytes", "", id, v.mismatch_count);
  }
}

/** The facts as a textfile-collector file (pure). */
export function renderPrometheus(f: PmemFacts): string {
  const m = new Metrics();
  hostMetrics(m, f);
  regionMetrics(m, f);
  namespaceMetrics(m, f);
  memmapMetrics(m, f);
  systemRamMetrics(m, f);
  cxlMetrics(m, f);
  verifyMetrics(m, f);
  m.gauge(
    "pmem_export_warnings",
    "Warnings pmemctl had while gathering (sources missing or refused, ranges unclaimed).",
    {},
    f.warnings.length,
  );
  return m.text();
}
