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

/**
 * A tree's file list with what changes from boot to boot or from one Debian
 * point release to the next made constant: the numbers of libnvdimm's
 * btt/pfn/dax seed devices (probe order), and the kernel's release (the
 * tree's own `uname-r`) in `lib/modules/RELEASE/` — Debian publishes a new
 * ABI (6.1.0-56 → 6.1.0-57) and the capture must still match.
 */
function normalTree(dir: string): string[] {
  const release = Deno.readTextFileSync(`${dir}/uname-r`).trim();
  const seed = /\/(btt|pfn|dax)\d+\.\d+(?=\/|$)/g;
  const normal = (p: string) =>
    p.startsWith("sys/")
      ? p.replace(seed, "/$1N.N")
      : p.replace(`lib/modules/${release}/`, "lib/modules/RELEASE/");
  return [...new Set(listTree(dir).map(normal))].sort();
}

/**
 * /proc/iomem as it stays across boots and kernel builds: SeaBIOS places
 * option ROMs below 1 MiB differently from boot to boot (an "Adapter ROM" at
 * 0xe8000 comes and goes, seen in CI), and where the kernel's own image
 * ends (`Kernel code`, `rodata`, `data`, `bss`) moves with every build.
 */
function normalIomem(text: string): string {
  return text.split("\n")
    .filter((l) => !/^\s*000[0-9a-f]{5}-000[0-9a-f]{5} : Adapter ROM$/.test(l))
    .map((l) =>
      l.replace(
        /^(\s*)[0-9a-f]+-[0-9a-f]+( : Kernel (code|rodata|data|bss))$/,
        "$1START-END$2",
      )
    )
    .join("\n");
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

// The doctor-* scenarios hold faults (no libnvdimm region at all, for one);
// the platform ones (virtio-pmem, soft-reserved, CXL) are checked below.
for (
  const name of Object.keys(SCENARIOS).filter((n) =>
    !n.startsWith("doctor-") && !SCENARIOS[n].platform
  )
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
      // Values change between boots (timestamps, uuids); the set of files
      // must not, but for what normalTree makes constant.
      assert.deepEqual(normalTree(dir), normalTree(`${FIXTURES}legacy`));
      const iomem = (d: string) =>
        normalIomem(Deno.readTextFileSync(`${d}/proc/iomem`));
      assert.equal(iomem(dir), iomem(`${FIXTURES}legacy`));
    } finally {
      Deno.removeSync(tmp, { recursive: true });
    }
  },
  "6.1",
);

Deno.test("a capture from the next Debian point release still matches the committed fixture", () => {
  // What the capture test meets the day Debian publishes a new ABI: the same
  // tree under another release, the kernel's image a few KiB longer.
  const tmp = Deno.makeTempDirSync({ prefix: "pmemctl-release-" });
  try {
    const from = Deno.readTextFileSync(`${FIXTURES}legacy/uname-r`).trim();
    const next = from.replace(/-(\d+)-amd64$/, (_, n) => `-${+n + 1}-amd64`);
    assert.notEqual(next, from);
    const copy = new Deno.Command("cp", {
      args: ["-a", `${FIXTURES}legacy/.`, tmp],
    }).outputSync();
    assert.ok(copy.success);
    Deno.renameSync(`${tmp}/lib/modules/${from}`, `${tmp}/lib/modules/${next}`);
    Deno.writeTextFileSync(`${tmp}/uname-r`, `${next}\n`);
    const iomem = Deno.readTextFileSync(`${tmp}/proc/iomem`);
    const grown = iomem.replace(
      /^(\s*)([0-9a-f]+)-([0-9a-f]+)( : Kernel code)$/m,
      (_, sp, a, b, rest) =>
        `${sp}${a}-${(parseInt(b, 16) + 0x3000).toString(16)}${rest}`,
    );
    assert.notEqual(grown, iomem);
    Deno.writeTextFileSync(`${tmp}/proc/iomem`, grown);

    assert.deepEqual(normalTree(tmp), normalTree(`${FIXTURES}legacy`));
    assert.equal(normalIomem(grown), normalIomem(iomem));
    // Anything else that moves is still a difference.
    assert.notEqual(
      normalIomem(grown.replace(": namespace0.0", ": namespace0.1")),
      normalIomem(iomem),
    );
    Deno.removeSync(`${tmp}/proc/modules`);
    assert.notDeepEqual(normalTree(tmp), normalTree(`${FIXTURES}legacy`));
  } finally {
    Deno.removeSync(tmp, { recursive: true });
  }
});

Deno.test("platform fixtures hold what each platform shows the kernel's way", () => {
  const dir = (name: string) => `${FIXTURES}${name}`;
  const text = (name: string, f: string) =>
    Deno.readTextFileSync(`${dir(name)}/${f}`);
  const provider = (name: string) =>
    text(name, `sys/bus/nd/devices/ndbus0/provider`).trim();
  // virtio-pmem: a namespace at the top of iomem, no "Persistent Memory".
  assert.equal(provider("virtio-pmem"), "virtio-pmem");
  assert.match(text("virtio-pmem", "proc/iomem"), /^\S+ : namespace0\.0$/m);
  assert.doesNotMatch(text("virtio-pmem", "proc/iomem"), /Persistent Memory/);
  // Soft-reserved: memmap=…%… made it, dax_hmem made hmem.0 › dax0.0.
  assert.match(
    text("soft-reserved", "dmesg.txt"),
    /user: \[mem 0x[0-9a-f]+-0x[0-9a-f]+\] soft reserved/,
  );
  assert.match(
    text("soft-reserved", "proc/iomem"),
    /: hmem\.0\n\s+\S+ : Soft Reserved\n\s+\S+ : dax0\.0/,
  );
  assert.ok(exists(`${dir("soft-reserved")}/dev/dax0.0`));
  for (const k of ["", "-7.3"]) {
    // CXL before provisioning: a memdev with persistent capacity, a window, no region.
    const before = `cxl${k}`, after = `cxl-fsdax${k}`;
    assert.equal(provider(before), "CXL");
    assert.equal(
      text(before, "sys/bus/cxl/devices/mem0/pmem/size").trim(),
      "0x10000000",
    );
    assert.match(text(before, "proc/iomem"), /: CXL Window 0$/m);
    assert.deepEqual(
      deviceNames(dir(before), "sys/bus/cxl/devices").filter((n) =>
        /^region/.test(n)
      ),
      [],
    );
    // After cxl create-region and ndctl create-namespace: both regions and pmem0.
    assert.ok(
      deviceNames(dir(after), "sys/bus/cxl/devices").includes("region0"),
    );
    assert.match(
      text(after, "proc/iomem"),
      /: CXL Window 0\n\s+\S+ : Persistent Memory\n\s+\S+ : region0/,
    );
    assert.ok(exists(`${dir(after)}/dev/pmem0`));
  }
});
