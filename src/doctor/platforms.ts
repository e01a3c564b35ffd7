/**
 * doctor's checks for where pmem lives beside memmap= and NFIT: CXL
 * type-3 devices (capacity without a region, regions not committed or
 * without their libnvdimm region), virtio-pmem (no MAP_SYNC: durability
 * through fsync/msync, which reach the host) and soft-reserved memory
 * (device-DAX or onlined as System RAM, never persistent), and the CPU
 * pmemctl runs on. Each runs only where its platform is there. Pure
 * functions of what list and doctor gathered.
 *
 * @module
 */

import type { ListResult } from "../list/join.ts";
import { planCxl } from "../plan/cxl.ts";
import { amount as size } from "../units.ts";
import { hex } from "../units.ts";
import type { PatternCode } from "../verify/pattern.ts";
import type { Check } from "./checks.ts";

/** The modules each platform present needs, beside libnvdimm's own. */
export function platformModules(list: ListResult): string[] {
  const providers = new Set(list.regions.map((r) => r.provider));
  // The CXL bus is there wherever the kernel has it built in (Debian's
  // does): only devices or windows on it say the machine has CXL.
  const cxl = list.cxl &&
    (list.cxl.memdevs.length > 0 || list.cxl.root_decoders.length > 0);
  return [
    ...(cxl ? ["cxl_acpi", "cxl_pci", "cxl_mem", "cxl_port"] : []),
    ...(list.cxl?.memdevs.some((m) => m.pmem_size > 0) ? ["cxl_pmem"] : []),
    ...(providers.has("virtio-pmem") ? ["virtio_pmem", "nd_virtio"] : []),
    ...(providers.has("hmem") ? ["dax_hmem", "device_dax"] : []),
  ];
}

/** CXL: capacity no region uses, regions not committed, or with no libnvdimm region over them. */
export function cxlChecks(list: ListResult): Check[] {
  const cxl = list.cxl;
  if (!cxl) return [];
  const out: Check[] = [];
  const plan = planCxl(cxl, { mode: "fsdax" });
  for (const m of cxl.memdevs.filter((m) => m.pmem_free > 0)) {
    out.push({
      check: "cxl",
      status: "warn",
      found: `${m.memdev} has ${
        size(m.pmem_free)
      } of persistent capacity in no CXL region: no /dev/pmem or /dev/dax comes of it`,
      fix: "commands" in plan && plan.memdevs.includes(m.memdev)
        ? `${plan.commands.join(" && ")} (pmemctl plan cxl | sh -e)`
        : "pmemctl plan cxl prints the commands that provision it",
    });
  }
  for (const r of cxl.regions) {
    if (r.decode_state !== "commit") {
      out.push({
        check: "cxl",
        status: "fail",
        found: `CXL ${r.region} (${r.type ?? "no mode"}, ${
          r.memdevs.join(", ")
        }) is not committed: its decoders are not programmed, so no memory is there`,
        fix:
          `cxl destroy-region ${r.region}, then pmemctl plan cxl | sh -e (or cxl create-region again)`,
      });
    } else if (r.type === "pmem" && !r.nd_region) {
      out.push({
        check: "cxl",
        status: "fail",
        found: `CXL ${r.region} (pmem, ${
          r.start !== null ? hex(r.start) : "?"
        }) has no libnvdimm region over it`,
        fix: "modprobe cxl_pmem",
      });
    }
  }
  if (out.length === 0 && cxl.memdevs.length > 0) {
    const regions = cxl.regions.map((r) =>
      `${r.region} (${r.type}, ${size(r.size)}${
        r.nd_region ? ` as libnvdimm ${r.nd_region}` : ""
      })`
    );
    out.push({
      check: "cxl",
      status: "ok",
      found: `${cxl.memdevs.map((m) => m.memdev).join(", ")}: ${
        regions.length
          ? `every byte of persistent capacity in a region: ${
            regions.join(", ")
          }`
          : "no persistent capacity"
      }`,
    });
  }
  return out;
}

/** virtio-pmem: MAP_SYNC is refused there; fsync/msync carry writes to the host. */
export function virtioChecks(list: ListResult): Check[] {
  return list.regions.filter((r) => r.provider === "virtio-pmem").map(
    (r): Check => {
      const daxMounts = r.namespaces.flatMap((n) => n.mounts ?? [])
        .filter((m) =>
          m.dax_effective === "always" || m.dax_effective === "inode"
        );
      const what = `${
        r.nd_region ?? "a region"
      } is virtio-pmem: MAP_SYNC is unavailable (the host's page cache sits behind it), and writes are durable once fsync or msync has sent the device's flush to the host — pmemctl map and verify do that`;
      return daxMounts.length
        ? {
          check: "virtio-pmem",
          status: "warn",
          found: `${what}; DAX-mounted on ${
            daxMounts.map((m) => m.path).join(", ")
          }, where programs that rely on MAP_SYNC and CPU cache flushes get EOPNOTSUPP`,
          fix:
            "in programs on these mounts, make writes durable with fsync/msync (libpmem's pmem_is_pmem() is false here, and its pmem_msync() does that)",
        }
        : { check: "virtio-pmem", status: "ok", found: what };
    },
  );
}

/** Soft-reserved memory: which device-DAX it became, or why none. */
export function softReservedChecks(list: ListResult): Check[] {
  return list.regions.filter((r) => r.provider === "hmem").map(
    (r): Check => {
      const where = r.start !== null ? `${hex(r.start)}` : "?";
      const what = `soft-reserved memory at ${where} (${
        size(r.size)
      }) is not persistent: its content is gone at every power cycle`;
      const ram = r.namespaces.filter((n) => n.mode === "system-ram");
      if (r.namespaces.length === 0) {
        return {
          check: "soft-reserved",
          status: "warn",
          found: `${what}, and no device-DAX comes of it`,
          fix:
            "modprobe dax_hmem (CONFIG_DEV_DAX_HMEM; the range needs CONFIG_EFI_SOFT_RESERVE), or boot with efi=nosoftreserve to give it to the kernel as plain RAM",
        };
      }
      if (ram.length) {
        return {
          check: "soft-reserved",
          status: "warn",
          found: `${what}; ${
            ram.map((n) => n.dev).join(", ")
          } was onlined as System RAM (kmem), so no /dev/dax node serves it`,
          fix: `daxctl reconfigure-device --mode=devdax --force ${
            ram[0].dev
          } (and memhp_default_state=offline on the kernel command line, or a udev rule, to keep it from being onlined at boot)`,
        };
      }
      return {
        check: "soft-reserved",
        status: "ok",
        found: `${what}; it is ${
          r.namespaces.map((n) => `/dev/${n.chardev ?? n.dev} (${n.mode})`)
            .join(", ")
        }`,
      };
    },
  );
}

/** The CPU: whether verify's pattern runs in WebAssembly SIMD or falls back to the loops. */
export function cpuChecks(code: PatternCode | undefined): Check[] {
  if (code === undefined) return [];
  return [{
    check: "cpu",
    status: "ok",
    found: code === "simd"
      ? "WebAssembly SIMD: verify fills and checks its pattern 16 bytes a store"
      : "no WebAssembly SIMD on this CPU (no SSE4.1: QEMU's default model, kvm64): verify fills and checks its pattern with its JavaScript loops, the same bytes at about half the speed",
  }];
}
