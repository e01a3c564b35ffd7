/**
 * The captured fixtures hold what later parsers need, and the capture
 * script still reproduces them from a live guest.
 */
import assert from "node:assert/strict";
import { capture, SCENARIOS } from "./fixtures/capture.ts";
import { vmTest } from "./vm/vm.ts";

const FIXTURES = new URL("./fixtures/", import.meta.url).pathname;

/** Relative paths of every file and link under `dir`. */
function listTree(dir: string, prefix = ""): string[] {
  const out: string[] = [];
  for (const e of Deno.readDirSync(`${dir}/${prefix}`)) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory) out.push(...listTree(dir, rel));
    else out.push(rel);
  }
  return out.sort();
}

function withoutSeedNumbers(paths: string[]): string[] {
  const seed = /\/(btt|pfn|dax)\d+\.\d+(?=\/|$)/g;
  const normal = (p: string) =>
    p.startsWith("sys/") ? p.replace(seed, "/$1N.N") : p;
  return [...new Set(paths.map(normal))].sort();
}

const REQUIRED = [
  "proc/iomem",
  "proc/iomem.nonroot",
  "proc/cmdline",
  "proc/self/mountinfo",
  "dmesg.txt",
  "ndctl-list.json",
  "sys/firmware/memmap/0/type",
];

/** Whether `path` exists, following symlinks as a reader of the tree would. */
function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Names in a sysfs device list of the tree (the links themselves). */
function deviceNames(dir: string, list: string): string[] {
  try {
    return [...Deno.readDirSync(`${dir}/${list}`)].map((e) => e.name).sort();
  } catch {
    return [];
  }
}

// The doctor-* scenarios hold faults (no libnvdimm region at all, for one).
for (
  const name of Object.keys(SCENARIOS).filter((n) => !n.startsWith("doctor-"))
) {
  Deno.test(`fixture ${name} holds the kernel's pmem view, laid out like /`, () => {
    const dir = `${FIXTURES}${name}`;
    for (const f of REQUIRED) {
      assert.ok(exists(`${dir}/${f}`), `${name}: ${f} missing`);
    }
    const text = (f: string) => Deno.readTextFileSync(`${dir}/${f}`);
    assert.match(text("proc/iomem"), /: Persistent Memory/);
    assert.match(text("proc/iomem.nonroot"), /^00000000-00000000 : /m);
    assert.match(text("dmesg.txt"), /BIOS-e820: \[mem 0x/);
    // Device lists are links into sys/devices, and following them works.
    const nd = deviceNames(dir, "sys/bus/nd/devices");
    assert.ok(nd.includes("region0") && nd.includes("ndbus0"), nd.join(" "));
    assert.ok(Deno.lstatSync(`${dir}/sys/bus/nd/devices/region0`).isSymlink);
    assert.ok(exists(`${dir}/sys/bus/nd/devices/region0/size`));
    const blocks = deviceNames(dir, "sys/block");
    if (name.startsWith("nfit-devdax") || name === "nfit-system-ram") {
      assert.deepEqual(blocks, []);
    } else {
      assert.ok(blocks.length > 0);
      for (const b of blocks) {
        assert.ok(exists(`${dir}/sys/block/${b}/size`), b);
        assert.ok(exists(`${dir}/sys/block/${b}/queue/dax`), b);
        assert.ok(exists(`${dir}/dev/${b}`), b);
      }
    }
    if (name.includes("legacy")) {
      assert.match(text("proc/cmdline"), /memmap=/);
      assert.match(
        text("dmesg.txt"),
        // "persistent (type 12)"; from the 2025 wording on (7.3) "persistent RAM (type 12)".
        /user: \[mem 0x[0-9a-f]+-0x[0-9a-f]+\]\s+persistent (RAM )?\(type 12\)/,
      );
    }
    if (name === "nfit-system-ram") {
      // Given to the kernel: its node stays (opening it fails with ENXIO),
      // its memory is System RAM.
      assert.ok(exists(`${dir}/dev/dax0.0`));
      assert.match(text("proc/iomem"), /: System RAM \(kmem\)$/m);
    }
    if (name.startsWith("nfit-devdax")) {
      assert.equal(text("sys/bus/dax/devices/dax0.0/size").trim(), "526385152");
      assert.ok(exists(`${dir}/dev/dax0.0`));
    }
    if (name === "nfit-fsdax-mounted") {
      assert.match(
        text("proc/self/mountinfo"),
        / \/mnt\/pmem .* ext4 \/dev\/pmem0 rw,dax=always/,
      );
    }
  });
}

vmTest(
  "the capture script reproduces the committed legacy fixture's files",
  async () => {
    const tmp = Deno.makeTempDirSync({ prefix: "pmemctl-capture-" });
    try {
      const dir = await capture("legacy", tmp);
      // Values change between boots (timestamps, uuids), and so do the numbers
      // of libnvdimm's btt/pfn/dax seed devices (probe order); the rest of the
      // set of files must not.
      assert.deepEqual(
        withoutSeedNumbers(listTree(dir)),
        withoutSeedNumbers(listTree(`${FIXTURES}legacy`)),
      );
      // SeaBIOS places option ROMs below 1 MiB differently from boot to boot
      // (an "Adapter ROM" at 0xe8000 comes and goes, seen in CI): those lines
      // aside, iomem is the same.
      const iomem = (path: string) =>
        Deno.readTextFileSync(path).split("\n").filter((l) =>
          !/^\s*000[0-9a-f]{5}-000[0-9a-f]{5} : Adapter ROM$/.test(l)
        ).join("\n");
      assert.equal(
        iomem(`${dir}/proc/iomem`),
        iomem(`${FIXTURES}legacy/proc/iomem`),
      );
    } finally {
      Deno.removeSync(tmp, { recursive: true });
    }
  },
  "6.1",
);
