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
    p.startsWith("sys/bus/nd/") ? p.replace(seed, "/$1N.N") : p;
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

for (const name of Object.keys(SCENARIOS)) {
  Deno.test(`fixture ${name} holds the kernel's pmem view`, () => {
    const dir = `${FIXTURES}${name}`;
    const files = listTree(dir);
    for (const f of REQUIRED) {
      assert.ok(files.includes(f), `${name}: ${f} missing`);
    }
    const iomem = Deno.readTextFileSync(`${dir}/proc/iomem`);
    assert.match(iomem, /: Persistent Memory/);
    assert.match(
      Deno.readTextFileSync(`${dir}/proc/iomem.nonroot`),
      /^00000000-00000000 : /m,
    );
    assert.match(
      Deno.readTextFileSync(`${dir}/dmesg.txt`),
      /BIOS-e820: \[mem 0x/,
    );
    assert.ok(
      files.some((f) => /^sys\/block\/pmem\d+\/size$/.test(f)) ||
        name === "nfit-devdax",
    );
    assert.ok(
      files.some((f) => /^sys\/bus\/nd\/devices\/region\d+\/size$/.test(f)),
    );
    const cmdline = Deno.readTextFileSync(`${dir}/proc/cmdline`);
    if (name.includes("legacy")) {
      assert.match(cmdline, /memmap=/);
      assert.match(
        Deno.readTextFileSync(`${dir}/dmesg.txt`),
        /user: \[mem 0x[0-9a-f]+-0x[0-9a-f]+\] persistent \(type 12\)/,
      );
    }
    if (name === "nfit-devdax") {
      assert.ok(files.includes("sys/bus/dax/devices/dax0.0/size"));
    }
    if (name === "nfit-fsdax-mounted") {
      assert.match(
        Deno.readTextFileSync(`${dir}/proc/self/mountinfo`),
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
      assert.equal(
        Deno.readTextFileSync(`${dir}/proc/iomem`),
        Deno.readTextFileSync(`${FIXTURES}legacy/proc/iomem`),
      );
    } finally {
      Deno.removeSync(tmp, { recursive: true });
    }
  },
);
