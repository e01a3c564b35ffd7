/**
 * `pmemctl kmod`: the pmem_legacy source shipped inside pmemctl (read from
 * kmod/, which `deno compile --include kmod` embeds), building it against a
 * kernel's headers, and which module holds which type-12 range.
 *
 * @module
 */

import { CAPS, readCapped } from "../bounded.ts";
import { SystemError, UsageError } from "../errors.ts";
import { E820_PRAM, e820TypeFromResourceName } from "../parse/e820_types.ts";
import { parseIomem } from "../parse/iomem.ts";
import { SystemRoot } from "../sysfs/root.ts";

/** The files of the module's source tree. */
export const KMOD_FILES = [
  "pmem_legacy.c",
  "Kbuild",
  "Makefile",
  "dkms.conf",
  "README.md",
];

/**
 * Where the shipped source is: kmod/ of the checkout (or of a `deno compile`
 * binary, which embeds it), or kmod/ beside the bundle's directory (the
 * Debian package's /usr/lib/pmemctl/kmod, beside /usr/lib/pmemctl/js/).
 */
function sourceDir(): URL {
  const candidates = [
    new URL("../../kmod/", import.meta.url),
    new URL("../kmod/", import.meta.url),
  ];
  for (const dir of candidates) {
    try {
      Deno.statSync(new URL("pmem_legacy.c", dir));
      return dir;
    } catch { /* the next */ }
  }
  throw new SystemError(
    "kmod",
    `the module's source is not installed with pmemctl (looked in ${
      candidates.map((u) => u.pathname).join(", ")
    })`,
  );
}

/** The shipped source, file name → content. */
export function moduleSource(): Map<string, Uint8Array> {
  const dir = sourceDir();
  const out = new Map<string, Uint8Array>();
  for (const f of KMOD_FILES) out.set(f, Deno.readFileSync(new URL(f, dir)));
  return out;
}

/** Writes the source into `dir` (created if needed); returns the paths written. */
export function writeSource(dir: string): string[] {
  try {
    Deno.mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw new SystemError(dir, `cannot create it: ${(e as Error).message}`);
  }
  const written: string[] = [];
  for (const [name, data] of moduleSource()) {
    Deno.writeFileSync(`${dir}/${name}`, data);
    written.push(`${dir}/${name}`);
  }
  return written;
}

/**
 * The compiler a kernel's headers were built with, from the
 * `CONFIG_CC_VERSION_TEXT` of their `.config` (pure): the command, and the
 * Debian package that brings it. Undefined when the text names none.
 */
export function compilerFromConfig(
  config: string,
): { text: string; command: string; package?: string } | undefined {
  const m = config.match(/^CONFIG_CC_VERSION_TEXT="([^"\n]*)"/m);
  const text = m?.[1].trim();
  const command = text?.split(/\s+/)[0];
  if (!text || !command) return undefined;
  const version = command.match(/(?:^|-)(gcc|clang)-(\d+)$/);
  return {
    text,
    command,
    package: version ? `${version[1]}-${version[2]}` : undefined,
  };
}

function onPath(command: string): boolean {
  for (const dir of (Deno.env.get("PATH") ?? "/usr/bin:/bin").split(":")) {
    try {
      if (Deno.statSync(`${dir}/${command}`).isFile) return true;
    } catch { /* not here */ }
  }
  return false;
}

/** Builds pmem_legacy.ko against `kver`'s headers (or `kdir`) and copies it to `out`; returns its path. */
export async function buildModule(
  options: { kver?: string; kdir?: string; out: string },
): Promise<string> {
  const kver = options.kver ??
    (options.kdir
      ? undefined
      : Deno.readTextFileSync("/proc/sys/kernel/osrelease").trim());
  const kdir = options.kdir ?? `/lib/modules/${kver}/build`;
  try {
    Deno.statSync(`${kdir}/Makefile`);
  } catch {
    throw new SystemError(
      kdir,
      `no kernel headers there (apt-get install linux-headers-${
        kver ?? "VERSION"
      })`,
    );
  }
  // The headers' own compiler, checked before make fails inside them.
  let config: string | undefined;
  try {
    config = readCapped(`${kdir}/.config`, CAPS.text);
  } catch { /* headers without .config: make will say */ }
  const cc = config ? compilerFromConfig(config) : undefined;
  if (cc && !onPath(cc.command)) {
    throw new SystemError(
      "kmod build",
      `the headers in ${kdir} were built with ${cc.text}, and ${cc.command} is not installed here${
        cc.package ? ` (apt-get install ${cc.package})` : ""
      }`,
    );
  }
  const work = Deno.makeTempDirSync({ prefix: "pmemctl-kmod-" });
  try {
    writeSource(work);
    const out = await new Deno.Command("make", {
      args: ["-C", work, `KDIR=${kdir}`],
      stdout: "piped",
      stderr: "piped",
    })
      .output()
      .catch((e) => {
        throw new SystemError(
          "make",
          `cannot run it (apt-get install make gcc): ${(e as Error).message}`,
        );
      });
    if (!out.success) {
      const log = new TextDecoder().decode(out.stderr).trim().split("\n")
        .filter((l) => /error/i.test(l));
      throw new SystemError(
        "kmod build",
        `make failed against ${kdir}: ${log[0] ?? "see make's output"}`,
      );
    }
    Deno.mkdirSync(options.out, { recursive: true });
    const dest = `${options.out.replace(/\/+$/, "")}/pmem_legacy.ko`;
    Deno.copyFileSync(`${work}/pmem_legacy.ko`, dest);
    return dest;
  } finally {
    Deno.removeSync(work, { recursive: true });
  }
}

/** The modules `status` reports on. */
export const PMEM_MODULES = [
  "libnvdimm",
  "nd_e820",
  "nd_pmem",
  "nd_btt",
  "nfit",
  "dax_pmem",
  "device_dax",
  "pmem_legacy",
];

/** `kmod status`'s answer. */
export interface KmodStatus {
  modules: { name: string; loaded: boolean; used_by: string[] }[];
  ranges: {
    start: number;
    end: number;
    size: number;
    claimed_by: string | null;
  }[];
  unclaimed: number;
  warnings: string[];
}

/** Which pmem modules are loaded and which type-12 range each holds, under `root`. */
export function kmodStatus(root = "/"): KmodStatus {
  if (root !== "/") {
    let isDir = false;
    try {
      isDir = Deno.statSync(root).isDirectory;
    } catch { /* below */ }
    if (!isDir) throw new UsageError(`--root ${root}`, "not a directory");
  }
  const sys = new SystemRoot(root);
  const warnings: string[] = [];
  const modulesText = sys.text("/proc/modules", CAPS.table);
  if (modulesText === undefined) warnings.push("no /proc/modules");
  const loaded = new Map<string, string[]>();
  for (const line of (modulesText ?? "").split("\n")) {
    const f = line.split(/\s+/);
    if (f.length >= 4) {
      loaded.set(
        f[0],
        f[3] === "-" ? [] : f[3].split(",").filter((s) => s !== ""),
      );
    }
  }
  const iomemText = sys.text("/proc/iomem", CAPS.table);
  const iomem = iomemText !== undefined ? parseIomem(iomemText) : undefined;
  if (!iomem) warnings.push("no /proc/iomem");
  else if (iomem.hidden) {
    warnings.push(
      "/proc/iomem shows every address as 0 (reading it needs root)",
    );
  }
  const ranges = (iomem && !iomem.hidden ? iomem.roots : [])
    .filter((n) => e820TypeFromResourceName(n.name) === E820_PRAM)
    .map((n) => ({
      start: n.start,
      end: n.end,
      size: n.end - n.start + 1,
      claimed_by: n.children[0]?.name ?? null,
    }));
  warnings.push(...sys.warnings);
  return {
    modules: PMEM_MODULES.map((name) => ({
      name,
      loaded: loaded.has(name),
      used_by: loaded.get(name) ?? [],
    })),
    ranges,
    unclaimed: ranges.filter((r) => r.claimed_by === null).length,
    warnings,
  };
}
