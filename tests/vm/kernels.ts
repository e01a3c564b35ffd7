/**
 * The guest kernels: Debian's, installed on the host (/boot, /lib/modules)
 * or fetched by tools/kernels.sh into .vm-cache/kernels/ for the lines of
 * tests/vm/kernels.list that bookworm does not carry.
 */

const HERE = new URL(".", import.meta.url).pathname;
const CACHE = new URL("../../.vm-cache/", import.meta.url).pathname;

/** One line of the matrix (tests/vm/kernels.list). */
export interface KernelLine {
  /** `6.1`, `6.12`, `6.12t`, `7.2`, `7.3`. */
  name: string;
  suite: string;
  /** The version (`7.3.4+deb13-amd64`) pattern, anchored. */
  pattern: RegExp;
  /** `host`, or the build root (`trixie`) whose compiler the headers want. */
  build: string;
}

/** A kernel the guests can boot. */
export interface Kernel {
  version: string;
  vmlinuz: string;
  /** The directory holding `lib/modules/VERSION` (`/`, or a cache root). */
  modulesBase: string;
  /** Where its headers live: `/lib/modules/VER/build` on the host, or inside a build root. */
  headers: string;
  /** The build root (a directory to chroot into), or undefined for the host's compiler. */
  buildRoot?: string;
  /**
   * The kernel's configuration file where its packages put it (`boot/config-VER`,
   * or `usr/lib/modules/VER/config` from the 6.13-era packaging on), or
   * undefined when they hold none. Guests get it as /boot/config-VER.
   */
  config?: string;
}

/** The kernel's config under `root` (`/`, or a cached package root), wherever its packaging put it. */
export function findConfig(root: string, version: string): string | undefined {
  const base = root.replace(/\/+$/, "");
  return [
    `${base}/boot/config-${version}`,
    `${base}/usr/lib/modules/${version}/config`,
    `${base}/lib/modules/${version}/config`,
  ].find(exists);
}

/** The matrix, in file order (oldest first). */
export function kernelLines(): KernelLine[] {
  return Deno.readTextFileSync(`${HERE}kernels.list`).split("\n")
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f.length === 4 && !f[0].startsWith("#"))
    .map(([name, suite, pattern, build]) => ({
      name,
      suite,
      pattern: new RegExp(`^${pattern}$`),
      build,
    }));
}

function compareVersions(a: string, b: string): number {
  const pa = a.split(/[.+-]/).map((p) => parseInt(p, 10) || 0);
  const pb = b.split(/[.+-]/).map((p) => parseInt(p, 10) || 0);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    if ((pa[i] ?? 0) !== (pb[i] ?? 0)) return (pa[i] ?? 0) - (pb[i] ?? 0);
  }
  return 0;
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Every bootable kernel, newest first: the host's and the cache's. */
export function availableKernels(): Kernel[] {
  const out: Kernel[] = [];
  try {
    for (const e of Deno.readDirSync("/boot")) {
      const m = e.name.match(/^vmlinuz-(.+)$/);
      if (!m || !exists(`/lib/modules/${m[1]}/modules.dep`)) continue;
      out.push({
        version: m[1],
        vmlinuz: `/boot/${e.name}`,
        modulesBase: "/",
        headers: `/lib/modules/${m[1]}/build`,
        config: findConfig("/", m[1]),
      });
    }
  } catch { /* no /boot */ }
  try {
    for (const e of Deno.readDirSync(`${CACHE}kernels`)) {
      const dir = `${CACHE}kernels/${e.name}`;
      if (!exists(`${dir}/.complete`)) continue;
      const modules = Deno.realPathSync(`${dir}/modules`);
      let buildRoot: string | undefined;
      try {
        buildRoot = `${CACHE}roots/${
          Deno.readTextFileSync(`${dir}/build-root`).trim()
        }`;
      } catch { /* headers on the host */ }
      out.push({
        version: e.name,
        vmlinuz: Deno.realPathSync(`${dir}/vmlinuz`),
        modulesBase: modules.slice(0, -`/lib/modules/${e.name}`.length) || "/",
        headers: `/usr/src/linux-headers-${e.name}`,
        buildRoot,
        config: findConfig(`${dir}/root`, e.name),
      });
    }
  } catch { /* nothing fetched */ }
  return out.sort((a, b) => compareVersions(b.version, a.version));
}

/**
 * The newest kernel of a matrix line (`6.1`, `7.3`…), or an exact version.
 * Throws saying how to get it.
 */
export function resolveKernel(
  wanted = Deno.env.get("PMEMCTL_VM_KERNEL") ?? "6.1",
): Kernel {
  const kernels = availableKernels();
  const exact = kernels.find((k) => k.version === wanted);
  if (exact) return exact;
  const line = kernelLines().find((l) => l.name === wanted);
  const match = line
    ? kernels.find((k) => line.pattern.test(k.version))
    : kernels.find((k) => k.version.startsWith(`${wanted}.`));
  if (!match) {
    throw new Error(
      `no ${wanted} kernel (have: ${
        kernels.map((k) => k.version).join(", ") || "none"
      }); tools/setup.sh --vm installs and fetches the matrix of tests/vm/kernels.list`,
    );
  }
  return match;
}

/** The newest line of the matrix (`7.3` today). */
export function newestLine(): string {
  return kernelLines().at(-1)!.name;
}
