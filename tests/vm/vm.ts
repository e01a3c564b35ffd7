/**
 * Real pmem machines for the test suite: Debian's kernel booted under
 * qemu/TCG with `memmap=` (type-12) pmem or a file-backed NVDIMM, a busybox
 * initramfs holding deno, the pmem modules, the peer tools and this project
 * tree. {@link runVm} runs a shell script in such a guest and returns its
 * stdout and exit code.
 *
 * @module
 */

import { inCI, requireThat } from "../require.ts";
import {
  availableKernels,
  type Kernel,
  newestLine,
  resolveKernel,
} from "./kernels.ts";
import { type CpioEntry, encodeCpio, treeEntries } from "./cpio.ts";

const HERE = new URL(".", import.meta.url).pathname;
/** The project's root directory on the host. */
export const PROJECT = new URL("../../", import.meta.url).pathname.replace(
  /\/$/,
  "",
);
const CACHE = `${PROJECT}/.vm-cache`;

/** The named guest configurations. */
export type VmConfig =
  | "plain"
  | "legacy"
  | "legacy2"
  | "nfit"
  | "nfit+legacy"
  | "virtio-pmem"
  | "cxl"
  | "soft-reserved";

/** What one configuration adds to qemu and the kernel command line. */
interface ConfigSpec {
  memmap: string[];
  nvdimm: boolean;
  /** The guest waits (up to 30 s) until one of these (paths or globs) exists. */
  waitFor: string[];
  /** Kernel arguments of the configuration. */
  append?: string[];
  /** Features taken off `-cpu max`. */
  cpuOff?: string[];
  /** Modules beside {@link COMMON_MODULES} (default: nd_e820, and nfit with an NVDIMM). */
  modules?: string[];
  /** The machine, memory and devices (default: `pc` and `-m RAM`, or the NVDIMM's). */
  devices?: (device: string, ramMiB: number, mib: number) => string[];
}

/** A file-backed memory device of `mib` MiB (shared, so the host sees its bytes). */
const backend = (id: string, file: string, mib: number) => [
  "-object",
  `memory-backend-file,id=${id},share=on,mem-path=${file},size=${mib}M`,
];

const CONFIGS: Record<VmConfig, ConfigSpec> = {
  // No pmem: memmap= comes from the test (`append`), nd_e820 is loaded.
  plain: { memmap: [], nvdimm: false, waitFor: [] },
  legacy: { memmap: ["256M!1G"], nvdimm: false, waitFor: ["/dev/pmem0"] },
  legacy2: {
    memmap: ["128M!1G", "64M!0x60000000"],
    nvdimm: false,
    waitFor: ["/dev/pmem1"],
  },
  nfit: { memmap: [], nvdimm: true, waitFor: ["/dev/pmem0", "/dev/dax0.0"] },
  "nfit+legacy": {
    memmap: ["256M!1G"],
    nvdimm: true,
    waitFor: ["/dev/pmem1", "/dev/dax1.0", "/dev/dax0.0"],
  },
  // A virtio-pmem device (QEMU/Kata/cloud guests): one fsdax namespace, no
  // DIMM, not in /proc/iomem, no MAP_SYNC.
  "virtio-pmem": {
    memmap: [],
    nvdimm: false,
    waitFor: ["/dev/pmem0"],
    modules: ["virtio_pci", "virtio_pmem", "nd_virtio"],
    devices: (file, ram, mib) => [
      "-m",
      `${ram}M,slots=2,maxmem=${Math.ceil((ram + mib) / 1024) + 2}G`,
      ...backend("vmem1", file, mib),
      "-device",
      "virtio-pmem-pci,memdev=vmem1,id=vpmem1",
    ],
  },
  // A CXL type-3 memory device with persistent capacity behind one host
  // bridge and a 4 GiB window (q35), as QEMU 7.2 takes it (memdev=, not
  // persistent-memdev=). No region until cxl create-region makes one.
  cxl: {
    memmap: [],
    nvdimm: false,
    // The memdev's endpoint port: its decoders are what create-region takes.
    waitFor: ["/sys/bus/cxl/devices/endpoint*"],
    modules: ["cxl_acpi", "cxl_pci", "cxl_mem", "cxl_port", "cxl_pmem"],
    // QEMU 7.2's type-3 device has no event interrupts, and kernels from 6.3
    // on fail cxl_pci's probe when MSI-X is there but they are not ("Failed
    // to get interrupt for event Info log": no mem0 on 7.3); without MSI the
    // driver goes on without event processing.
    append: ["pci=nomsi"],
    // Kernels from 6.4 on commit a region only where they can write back
    // and invalidate the CPU caches for it, which they assume no guest can
    // ("Failed to synchronize CPU cache state", ENXIO): a TCG CPU without
    // the hypervisor bit is bare metal to them, and its WBINVD works.
    cpuOff: ["hypervisor"],
    devices: (file, ram, mib) => [
      "-machine",
      "q35,cxl=on",
      "-m",
      `${ram}M,slots=2,maxmem=${Math.ceil((ram + 2 * mib) / 1024) + 4}G`,
      ...backend("cxl-mem1", file, mib),
      ...backend("cxl-lsa1", `${file}.lsa`, mib),
      "-device",
      "pxb-cxl,bus_nr=12,bus=pcie.0,id=cxl.1",
      "-device",
      "cxl-rp,port=0,bus=cxl.1,id=root_port13,chassis=0,slot=2",
      "-device",
      // A serial number: cxl_pmem refuses a device without one on 7.x.
      "cxl-type3,bus=root_port13,memdev=cxl-mem1,lsa=cxl-lsa1,id=cxl-pmem0,sn=0x1234",
      "-M",
      "cxl-fmw.0.targets.0=cxl.1,cxl-fmw.0.size=4G",
    ],
  },
  // Soft-reserved ("specific purpose", EFI_MEMORY_SP) memory, as firmware
  // describes CXL volatile or HBM: usable RAM given type 0xefffffff, which
  // dax_hmem turns into hmem.0 and /dev/dax0.0. Not persistent.
  "soft-reserved": {
    memmap: ["256M%0x40000000-1+0xefffffff"],
    nvdimm: false,
    waitFor: ["/dev/dax0.0"],
    modules: ["dax_hmem", "kmem"],
  },
};

/** Modules loaded in every guest (modprobe resolves their dependencies); nd_e820 and nfit come per configuration. */
export const COMMON_MODULES = [
  "libnvdimm",
  "nd_btt",
  "nd_pmem",
  "device_dax",
  "dax_pmem",
  "crc32c_generic",
  "ext4",
];

/** Arguments of {@link runVm}. */
export interface VmOptions {
  config: VmConfig;
  /** Shell script run in /pmemctl; its stdout comes back. */
  script: string;
  /** `"6.1"` (default, or `PMEMCTL_VM_KERNEL`), `"6.12"`, or an exact version in /boot. */
  kernel?: string;
  /** The NVDIMM's backing file, kept across boots; default a fresh sparse file. */
  nvdimm?: string;
  /** NVDIMM size in MiB (default 512). */
  nvdimmMiB?: number;
  /** Give the NVDIMM a 128 KiB label area (namespaces with names and uuids, several per region). */
  nvdimmLabels?: boolean;
  /** Guest RAM in MiB (default 2048). */
  memoryMiB?: number;
  /** Virtual CPUs (default 1; TCG runs each on a host thread of its own). */
  cpus?: number;
  /**
   * The CPU model: `max` (default: every feature TCG has) or QEMU's
   * `default` x86-64 baseline (no SSSE3/SSE4.1, as kvm64 guests).
   */
  cpu?: "max" | "default";
  /** Replace the module list (e.g. without nd_e820). */
  modules?: string[];
  /** Replace the devices the guest waits for before the script (none: []). */
  waitFor?: string[];
  /** Extra kernel arguments. */
  append?: string[];
  /** Extra files in the guest: absolute path → content. */
  files?: Record<string, string | Uint8Array>;
  /** Give up after this many seconds (default 240). */
  timeoutSeconds?: number;
}

/** What a guest run gave back. */
export interface VmResult {
  /** The script's exit code. */
  code: number;
  /** The script's stdout, decoded as UTF-8. */
  stdout: string;
  /** The script's stdout, byte for byte. */
  stdoutBytes: Uint8Array;
  /** The serial console: kernel messages and the script's stderr. */
  console: string;
  /** The kernel version that ran. */
  kernel: string;
  seconds: number;
}

function which(command: string): string | undefined {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    try {
      if (Deno.statSync(`${dir}/${command}`).isFile) return `${dir}/${command}`;
    } catch { /* not here */ }
  }
  return undefined;
}

/** The versions of every bootable kernel, newest first. */
export function installedKernels(): string[] {
  return availableKernels().map((k) => k.version);
}

export { resolveKernel };

/**
 * The QEMU arguments of a CXL type-3 device with `mib` MiB of persistent
 * capacity backed by `file` (and `file`.lsa), for a guest of `ramMiB`: the
 * same machine the `cxl` guests have (q35, one host bridge, a 4 GiB window).
 */
export function cxlDevice(file: string, ramMiB: number, mib: number): string[] {
  return CONFIGS.cxl.devices!(file, ramMiB, mib);
}

/** Why guests cannot run here, or undefined when they can. */
export function vmUnavailable(kernel?: string): string | undefined {
  for (const tool of ["qemu-system-x86_64", "busybox", "cpio", "depmod"]) {
    if (!which(tool)) {
      return `${tool} is not installed (see .ci/run for the packages)`;
    }
  }
  try {
    resolveKernel(kernel);
  } catch (e) {
    return (e as Error).message;
  }
  return undefined;
}

async function sha256(parts: (string | Uint8Array)[]): Promise<string> {
  const chunks = parts.map((p) =>
    typeof p === "string" ? new TextEncoder().encode(p) : p
  );
  const all = new Uint8Array(chunks.reduce((n, c) => n + c.length + 1, 0));
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.length + 1;
  }
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", all));
  return [...digest.slice(0, 8)].map((b) => b.toString(16).padStart(2, "0"))
    .join("");
}

/** Builds (once) and returns the base initramfs for `kernel`. */
export async function baseInitramfs(k: Kernel): Promise<string> {
  const kernel = k.version;
  const key = await sha256([
    kernel,
    k.config ?? "",
    Deno.readFileSync(`${HERE}build-base.sh`),
    Deno.readFileSync(`${HERE}init.sh`),
    Deno.version.deno,
  ]);
  const path = `${CACHE}/base-${kernel}-${key}.cpio`;
  try {
    Deno.statSync(path);
    return path;
  } catch { /* build it */ }
  Deno.mkdirSync(CACHE, { recursive: true });
  const out = await new Deno.Command("bash", {
    args: [`${HERE}build-base.sh`, kernel, path],
    env: {
      DENO_BIN: Deno.execPath(),
      MODULES_BASE: k.modulesBase,
      KERNEL_CONFIG: k.config ?? "",
    },
    stdout: "inherit",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(
      `building the guest initramfs failed:\n${
        new TextDecoder().decode(out.stderr)
      }`,
    );
  }
  return path;
}

/** The per-boot archive: the project tree, the run's env and script, extra files. */
function runArchive(spec: ConfigSpec, options: VmOptions): Uint8Array {
  const modules = options.modules ??
    [
      ...COMMON_MODULES,
      ...(spec.modules ?? [
        ...(spec.memmap.length || !spec.nvdimm ? ["nd_e820"] : []),
        ...(spec.nvdimm ? ["nfit"] : []),
      ]),
    ];
  const env = `MODULES="${modules.join(" ")}"\nWAIT_FOR="${
    (options.waitFor ?? spec.waitFor).join(" ")
  }"\n`;
  // Build outputs and local tool installs stay on the host (.tools holds a 95 MB deno).
  const skip = new Set([".git", ".vm-cache", ".tools", "dist"]);
  const entries: CpioEntry[] = [
    ...treeEntries(PROJECT, "pmemctl", skip),
    { path: "etc/pmemctl-vm", type: "dir" },
    {
      path: "etc/pmemctl-vm/env",
      type: "file",
      data: new TextEncoder().encode(env),
    },
    {
      path: "etc/pmemctl-vm/script.sh",
      type: "file",
      data: new TextEncoder().encode(options.script),
      mode: 0o755,
    },
  ];
  const dirs = new Set(
    entries.filter((e) => e.type === "dir").map((e) => e.path),
  );
  for (const [path, content] of Object.entries(options.files ?? {})) {
    const rel = path.replace(/^\/+/, "");
    const parts = rel.split("/");
    for (let i = 1; i < parts.length; i++) {
      const dir = parts.slice(0, i).join("/");
      if (!dirs.has(dir)) {
        dirs.add(dir);
        entries.push({ path: dir, type: "dir" });
      }
    }
    const data = typeof content === "string"
      ? new TextEncoder().encode(content)
      : content;
    entries.push({ path: rel, type: "file", data, mode: 0o755 });
  }
  return encodeCpio(entries);
}

/**
 * The JSON documents a guest script printed between `@@NAME` and `@@end`
 * lines, by name; one that does not parse fails with its name, its text and
 * the guest's console (pmemctl's stderr, the kernel's messages).
 */
// deno-lint-ignore no-explicit-any
export function guestJson(r: VmResult): Map<string, any> {
  return new Map(
    [...r.stdout.matchAll(/^@@(\S+)\n([\s\S]*?)^@@end$/gm)].map((m) => {
      try {
        return [m[1], JSON.parse(m[2])];
      } catch (e) {
        throw new Error(
          `@@${m[1]}: ${e}: ${JSON.stringify(m[2])}\n${r.console.slice(-4000)}`,
        );
      }
    }),
  );
}

/** Asserts the guest script exited 0; the message ends with the console's last `tail` lines. */
export function assertGuestOk(
  r: { code: number; console: string },
  tail = 30,
): void {
  if (r.code !== 0) {
    throw new Error(
      `guest script failed (exit ${r.code}):\n${
        r.console.split("\n").slice(-tail).join("\n")
      }`,
    );
  }
}

/** Boots a guest, runs `options.script` in it, and returns what it printed and its exit code. */
export async function runVm(options: VmOptions): Promise<VmResult> {
  const started = performance.now();
  const spec = CONFIGS[options.config];
  if (!spec) throw new Error(`unknown VM configuration ${options.config}`);
  const kernel = resolveKernel(options.kernel ?? defaultKernel);
  const base = await baseInitramfs(kernel);
  const work = Deno.makeTempDirSync({ prefix: "pmemctl-vm-" });
  try {
    const initrd = `${work}/initrd.cpio`;
    Deno.copyFileSync(base, initrd);
    Deno.writeFileSync(initrd, runArchive(spec, options), { append: true });

    const append = [
      "console=ttyS0",
      "panic=-1",
      "loglevel=4",
      "mitigations=off",
      "nokaslr",
      ...spec.memmap.map((m) => `memmap=${m}`),
      ...(spec.append ?? []),
      ...(options.append ?? []),
    ];
    const args = [
      "-accel",
      "tcg",
      ...(options.cpu === "default" ? [] : [
        "-cpu",
        ["max", ...(spec.cpuOff ?? []).map((f) => `-${f}`)].join(","),
      ]),
      "-smp",
      String(options.cpus ?? 1),
      "-nographic",
      "-no-reboot",
      "-nic",
      "none",
      "-monitor",
      "none",
      "-kernel",
      kernel.vmlinuz,
      "-initrd",
      initrd,
      "-append",
      append.join(" "),
      "-serial",
      `file:${work}/console.log`,
      "-serial",
      `file:${work}/stdout.bin`,
    ];
    const ram = options.memoryMiB ?? 2048;
    if (spec.devices) {
      const mib = options.nvdimmMiB ?? (options.config === "cxl" ? 256 : 512);
      const file = options.nvdimm ?? `${work}/device.img`;
      const files = options.config === "cxl" ? [file, `${file}.lsa`] : [file];
      for (const f of files) {
        try {
          Deno.statSync(f);
        } catch {
          Deno.writeFileSync(f, new Uint8Array(0));
          Deno.truncateSync(f, mib << 20);
        }
      }
      args.push(...spec.devices(file, ram, mib));
    } else if (spec.nvdimm) {
      const mib = options.nvdimmMiB ?? 512;
      const file = options.nvdimm ?? `${work}/nvdimm.img`;
      try {
        Deno.statSync(file);
      } catch {
        Deno.writeFileSync(file, new Uint8Array(0));
        Deno.truncateSync(file, mib << 20);
      }
      args.push(
        "-machine",
        "pc,nvdimm=on",
        "-m",
        // Room for the NVDIMM above RAM, rounded up to whole GiB.
        `${ram}M,slots=2,maxmem=${Math.ceil((ram + mib) / 1024) + 1}G`,
        "-object",
        `memory-backend-file,id=mem1,share=on,mem-path=${file},size=${mib}M`,
        "-device",
        `nvdimm,id=nv1,memdev=mem1${
          options.nvdimmLabels ? ",label-size=128K" : ""
        }`,
      );
    } else {
      args.push("-m", `${ram}M`);
    }

    const timeout = options.timeoutSeconds ?? 240;
    const boot = async () => {
      const child = new Deno.Command("qemu-system-x86_64", {
        args,
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        child.kill("SIGKILL");
      }, timeout * 1000);
      const status = await child.output();
      clearTimeout(timer);
      const consoleText = (() => {
        try {
          return new TextDecoder().decode(
            Deno.readFileSync(`${work}/console.log`),
          );
        } catch {
          return "";
        }
      })();
      return { status, timedOut, consoleText };
    };
    let { status, timedOut, consoleText } = await boot();
    let again = "";
    // A kernel that panics before userspace (seen once: 7.3 with two vCPUs
    // under TCG, in sched_clock_cpu from a timer interrupt) ran nothing of
    // the test: boot it once more, and say so. A panic after /init started
    // is the test's, and fails it.
    if (
      !/PMEMCTL-VM-INIT/.test(consoleText) &&
      /Kernel panic/.test(consoleText)
    ) {
      console.warn(
        `\n*** guest (${options.config}, ${kernel.version}) panicked before /init ran: booting it again ***\n${
          consoleText.split("\n").filter((l) => /panic|RIP:|BUG|Oops/.test(l))
            .slice(0, 6).join("\n")
        }\n`,
      );
      ({ status, timedOut, consoleText } = await boot());
      again = " (booted twice: the first boot panicked before /init ran)";
    }
    const tail = consoleText.split("\n").slice(-40).join("\n");
    if (timedOut) {
      throw new Error(
        `guest (${options.config}, ${kernel.version}) timed out after ${timeout}s:\n${tail}`,
      );
    }
    if (!status.success) {
      throw new Error(
        `qemu failed (${status.code}): ${
          new TextDecoder().decode(status.stderr)
        }\n${tail}`,
      );
    }
    const marker = consoleText.match(/PMEMCTL-VM-EXIT=(\d+)/);
    if (!marker) {
      throw new Error(
        `guest (${options.config}, ${kernel.version}) did not finish its script${again}:\n${tail}`,
      );
    }
    const stdoutBytes = Deno.readFileSync(`${work}/stdout.bin`);
    return {
      code: Number(marker[1]),
      stdout: new TextDecoder().decode(stdoutBytes),
      stdoutBytes,
      console: consoleText,
      kernel: kernel.version,
      seconds: (performance.now() - started) / 1000,
    };
  } finally {
    Deno.removeSync(work, { recursive: true });
  }
}

/**
 * Registers a test that needs a guest (through the one skip helper). Without qemu (or a kernel) it skips
 * with a loud reason, except under CI=true, where that is a failure.
 */
export function vmTest(
  name: string,
  fn: () => Promise<void>,
  kernel?: string,
): void {
  for (const k of kernel ? [kernel] : vmKernels()) {
    const reason = Deno.env.get("PMEMCTL_VM") === "skip" && !inCI
      ? "PMEMCTL_VM=skip"
      : vmUnavailable(k);
    const label = kernel ? `[vm] ${name}` : `[vm ${k}] ${name}`;
    requireThat(reason, label, async () => {
      // Guests this test boots without naming a kernel run this one.
      defaultKernel = k;
      try {
        await fn();
      } finally {
        defaultKernel = undefined;
      }
    });
  }
}

/**
 * The kernels every guest test runs on: the oldest and the newest line of
 * the matrix (`6.1` and `7.3` today), or PMEMCTL_VM_KERNELS (`6.1,6.12`);
 * PMEMCTL_VM_KERNEL alone names a single one.
 */
export function vmKernels(): string[] {
  const list = Deno.env.get("PMEMCTL_VM_KERNELS");
  if (list) return list.split(",").map((k) => k.trim()).filter(Boolean);
  const one = Deno.env.get("PMEMCTL_VM_KERNEL");
  if (one) return [one];
  return [...new Set(["6.1", newestLine()])];
}

/** The kernel of the vmTest now running (tests of one file run one at a time). */
let defaultKernel: string | undefined;
