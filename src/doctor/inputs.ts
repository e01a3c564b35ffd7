/**
 * What `pmemctl doctor` reads beyond `list`'s sources: the running kernel's
 * release and configuration, which modules are loaded, built in or
 * available, and libnvdimm regions without a driver (device-DAX given to
 * the kernel as System RAM comes with list's sources). Over `/`
 * or a captured tree, through {@link SystemRoot}; what cannot be read is
 * left undefined, and the checks say so.
 *
 * @module
 */

import type { SystemRoot } from "../sysfs/root.ts";
import { cpuCode, type PatternCode } from "../verify/pattern.ts";

/** A kernel configuration file, parsed: `CONFIG_FS_DAX` → `y`. */
export interface KernelConfig {
  /** Where it was read (`/boot/config-6.1.0-56-amd64`, `/proc/config.gz`). */
  source: string;
  values: Record<string, string>;
}

/** The module names a system knows of, each set undefined when unreadable. */
export interface ModuleSets {
  /** From /proc/modules and /sys/module. */
  loaded?: Set<string>;
  /** From modules.builtin. */
  builtin?: Set<string>;
  /** From modules.dep (loadable ones). */
  available?: Set<string>;
}

/** Everything doctor reads that list does not. */
export interface DoctorInputs {
  /** `uname -r`, from /proc/sys/kernel/osrelease. */
  release?: string;
  config?: KernelConfig;
  /** The places a configuration was looked for, when none was found. */
  configTried: string[];
  modules: ModuleSets;
  /** libnvdimm regions with no driver bound (`ndctl disable-region`). */
  disabledRegions: string[];
  /**
   * Who fills and checks verify's pattern on this CPU (`simd`, or the `js`
   * loops where V8 runs no WebAssembly SIMD); undefined for a captured
   * tree, whose CPU is not this one.
   */
  patternCode?: PatternCode;
}

/** A module's name as the kernel spells it: `nd_e820` for `kernel/…/nd_e820.ko.xz`. */
export function moduleName(path: string): string {
  return (path.split("/").pop() ?? "").replace(/\.ko(\.\w+)?$/, "")
    .replaceAll("-", "_");
}

/** A kernel configuration's text as values: `# CONFIG_X is not set` is absent. */
export function parseKernelConfig(text: string): Record<string, string> {
  const values: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const m = line.match(/^(CONFIG_[A-Za-z0-9_]+)=(.*)$/);
    if (m) values[m[1]] = m[2].replace(/^"(.*)"$/, "$1");
  }
  return values;
}

async function gunzip(bytes: Uint8Array): Promise<string | undefined> {
  try {
    const stream = new Blob([bytes as BlobPart]).stream().pipeThrough(
      new DecompressionStream("gzip"),
    );
    return await new Response(stream).text();
  } catch {
    return undefined;
  }
}

async function readConfig(
  sys: SystemRoot,
  release: string | undefined,
): Promise<{ config?: KernelConfig; tried: string[] }> {
  const tried: string[] = [];
  if (release) {
    for (
      const path of [
        `/boot/config-${release}`,
        `/usr/lib/modules/${release}/config`,
        `/lib/modules/${release}/config`,
      ]
    ) {
      tried.push(path);
      const text = sys.text(path);
      if (text !== undefined) {
        return {
          config: { source: path, values: parseKernelConfig(text) },
          tried,
        };
      }
    }
  }
  tried.push("/proc/config.gz");
  const gz = sys.bytes("/proc/config.gz");
  const text = gz ? await gunzip(gz) : undefined;
  if (text !== undefined) {
    return {
      config: { source: "/proc/config.gz", values: parseKernelConfig(text) },
      tried,
    };
  }
  return { tried };
}

function readModules(sys: SystemRoot, release: string | undefined): ModuleSets {
  const proc = sys.text("/proc/modules");
  const sysModules = sys.list("/sys/module");
  const loaded = proc !== undefined || sysModules.length > 0
    ? new Set([
      ...(proc ?? "").split("\n").map((l) => l.split(" ")[0]).filter(Boolean),
      // Built-in code with parameters shows here too, and loaded modules do.
      ...sysModules,
    ])
    : undefined;
  const dirs = release
    ? [`/lib/modules/${release}`, `/usr/lib/modules/${release}`]
    : [];
  const file = (name: string) => {
    for (const dir of dirs) {
      const text = sys.text(`${dir}/${name}`, 16 * 2 ** 20);
      if (text !== undefined) return text;
    }
    return undefined;
  };
  const names = (text: string | undefined, pick: (line: string) => string) =>
    text === undefined ? undefined : new Set(
      text.split("\n").map(pick).filter(Boolean).map(moduleName),
    );
  return {
    loaded,
    builtin: names(file("modules.builtin"), (l) => l.trim()),
    available: names(file("modules.dep"), (l) => l.split(":")[0].trim()),
  };
}

/** Reads what doctor needs beyond list's sources. */
export async function readDoctorInputs(sys: SystemRoot): Promise<DoctorInputs> {
  // A captured tree may keep `uname -r` beside proc/ (tests/fixtures, pmemctl's captures).
  const release = (sys.attr("/proc/sys/kernel/osrelease") ??
    sys.attr("/uname-r"))?.trim() || undefined;
  const { config, tried } = await readConfig(sys, release);
  const disabledRegions = sys.list("/sys/bus/nd/devices")
    .filter((n) => /^region\d+$/.test(n))
    .filter((n) => !sys.linkName(`/sys/bus/nd/devices/${n}/driver`));
  return {
    release,
    config,
    configTried: tried,
    modules: readModules(sys, release),
    disabledRegions,
    ...(sys.root === "/" ? { patternCode: cpuCode() } : {}),
  };
}
