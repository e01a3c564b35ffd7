/**
 * `pmemctl doctor` and `pmemctl plan check` on trees captured from the
 * guests (tests/fixtures): each injected fault is named with its fix, a
 * healthy tree is all ok, and the exit code follows the failures.
 */
import assert from "node:assert/strict";
import { run } from "../cli.ts";
import { captureOutput } from "../src/cli/output.ts";
import { copyFixture } from "./helpers.ts";

const FIX = new URL("./fixtures/", import.meta.url).pathname;

interface Check {
  check: string;
  status: string;
  found: string;
  fix?: string;
}

async function doctor(tree: string, ...extra: string[]) {
  const out = captureOutput();
  const code = await run(
    ["doctor", "--root", `${FIX}${tree}`, "--json", ...extra],
    out,
  );
  const doc = JSON.parse(out.out) as {
    checks: Check[];
    failed: number;
    warned: number;
  };
  return { code, doc, err: out.err };
}

const find = (checks: Check[], check: string, status: string, found: RegExp) =>
  checks.find((c) =>
    c.check === check && c.status === status && found.test(c.found)
  );

Deno.test("doctor: a healthy legacy tree is ok in every check about its pmem", async () => {
  const { code, doc } = await doctor("legacy");
  assert.equal(code, 0);
  assert.equal(doc.failed, 0);
  // The captured tree holds no kernel config: that, and only that, warns.
  assert.deepEqual(
    doc.checks.filter((c) => c.status !== "ok").map((c) => c.check),
    ["kernel-config"],
  );
  assert.ok(
    find(
      doc.checks,
      "memmap",
      "ok",
      /memmap=256M!1G became region0 \(\/dev\/pmem0\)/,
    ),
  );
  assert.ok(find(doc.checks, "modules", "ok", /nd_e820/));
});

Deno.test("doctor: nd_e820 not loaded and a memmap= across the PCI hole", async () => {
  const { code, doc } = await doctor("faults/doctor-hole");
  assert.equal(code, 1);
  const hole = find(
    doc.checks,
    "memmap",
    "fail",
    /memmap=1G!2560M covers more than usable RAM: 0xbffe0000-0xbfffffff is reserved .* 0xc0000000-0xdfffffff is no RAM at all/,
  );
  assert.ok(hole, JSON.stringify(doc.checks, null, 1));
  assert.match(hole.fix!, /pmemctl plan memmap/);
  const mod = find(
    doc.checks,
    "modules",
    "fail",
    /^nd_e820 is not loaded \(available in 6\.1\.0-56-amd64\)/,
  );
  assert.ok(mod);
  assert.match(mod.fix!, /modprobe nd_e820/);
  assert.ok(
    find(
      doc.checks,
      "claimed",
      "fail",
      /^0x40000000-0x4fffffff \(type 12\) is not claimed/,
    ),
  );
  // The request that fits is still ok.
  assert.ok(find(doc.checks, "memmap", "ok", /^memmap=256M!1G became/));
});

Deno.test("doctor: DAX refused for a 1 KiB-block ext4, and injected bad blocks", async () => {
  const { code, doc } = await doctor("faults/doctor-faults");
  assert.equal(code, 1);
  const dax = find(
    doc.checks,
    "dax",
    "fail",
    /refused DAX on pmem0, now mounted on \/mnt\/pmem without it: EXT4-fs \(pmem0\): unsupported blocksize for DAX/,
  );
  assert.ok(dax, JSON.stringify(doc.checks, null, 1));
  assert.match(dax.fix!, /mkfs\.ext4 -b 4096/);
  assert.ok(
    find(
      doc.checks,
      "dax",
      "warn",
      /\/mnt\/pmem \(ext4 on pmem0\) is mounted dax=inode/,
    ),
  );
  assert.ok(
    find(
      doc.checks,
      "badblocks",
      "fail",
      /^pmem0 has 8 known bad 512-byte sectors/,
    ),
  );
  assert.ok(
    find(doc.checks, "persistence", "warn", /a filesystem is mounted on it/),
  );
});

Deno.test("doctor: a mounted fsdax NVDIMM namespace is DAX", async () => {
  const { doc } = await doctor("nfit-fsdax-mounted");
  assert.ok(
    find(
      doc.checks,
      "dax",
      "ok",
      /^\/mnt\/pmem \(ext4 on pmem0\) is mounted dax=always/,
    ),
  );
  assert.ok(find(doc.checks, "modules", "ok", /nfit/));
});

Deno.test("doctor: the text form is one line per check, with the fix", async () => {
  const out = captureOutput();
  assert.equal(
    await run(["doctor", "--root", `${FIX}faults/doctor-faults`], out),
    1,
  );
  const lines = out.out.trimEnd().split("\n");
  assert.ok(
    lines.every((l) => /^(ok {2}|warn|fail) {2}\S+ +\S/.test(l)),
    out.out,
  );
  assert.ok(
    lines.some((l) => /^fail {2}badblocks .* — fix: pmemctl verify/.test(l)),
  );
  assert.equal(out.err, "pmemctl: doctor: 2 checks failed\n");
});

Deno.test("plan check: realised, not on the command line, and split requests", async () => {
  const check = async (tree: string, param: string) => {
    const out = captureOutput();
    const code = await run(
      ["plan", "check", param, "--root", `${FIX}${tree}`, "--json"],
      out,
    );
    return { code, doc: JSON.parse(out.out) };
  };
  const ok = await check("legacy", "memmap=256M!1G");
  assert.equal(ok.code, 0);
  assert.deepEqual(ok.doc.requests[0], {
    param: "memmap=256M!1G",
    start: 2 ** 30,
    size: 256 * 2 ** 20,
    on_cmdline: true,
    realised: true,
    region: "region0",
    devices: ["/dev/pmem0"],
  });
  const missing = await check("legacy", "memmap=512M!2G");
  assert.equal(missing.code, 1);
  assert.equal(missing.doc.requests[0].on_cmdline, false);
  const unclaimed = await check("faults/doctor-hole", "memmap=256M!1G");
  assert.equal(unclaimed.code, 1);
  assert.match(unclaimed.doc.requests[0].reason, /no driver holds it/);
  const split = await check("faults/doctor-hole", "memmap=1G!2560M");
  assert.equal(split.code, 1);
  assert.equal(split.doc.requests[0].realised, false);
});

Deno.test("plan check: a parameter without memmap=SIZE!START is a usage error", async () => {
  const out = captureOutput();
  assert.equal(
    await run(["plan", "check", "quiet", "--root", `${FIX}legacy`], out),
    2,
  );
  assert.match(out.err, /^pmemctl: PARAM: no memmap=SIZE!START in 'quiet'/);
});

async function doctorIn(dir: string) {
  const out = captureOutput();
  const code = await run(["doctor", "--root", dir, "--json"], out);
  return { code, doc: JSON.parse(out.out) as { checks: Check[] } };
}

Deno.test("doctor on changed copies of the legacy tree: each remaining check fires", async (t) => {
  const release = Deno.readTextFileSync(`${FIX}legacy/uname-r`).trim();
  const cases: [string, (dir: string) => void, string, string, RegExp][] = [
    [
      "a kernel without CONFIG_X86_PMEM_LEGACY",
      (dir) => {
        Deno.mkdirSync(`${dir}/boot`);
        Deno.writeTextFileSync(
          `${dir}/boot/config-${release}`,
          "CONFIG_LIBNVDIMM=m\nCONFIG_BLK_DEV_PMEM=m\n# CONFIG_X86_PMEM_LEGACY is not set\nCONFIG_FS_DAX=y\nCONFIG_DEV_DAX=m\n",
        );
      },
      "kernel-config",
      "fail",
      /^CONFIG_X86_PMEM_LEGACY is not set in \/boot\/config-/,
    ],
    [
      "a disabled region (ndctl disable-region)",
      (dir) => {
        const region = Deno.realPathSync(
          `${dir}/sys/bus/nd/devices/region0`,
        );
        Deno.removeSync(`${region}/driver`);
      },
      "namespace",
      "fail",
      /^region0 is disabled: no driver is bound/,
    ],
    [
      "more than 4 memmap= entries with KASLR",
      (dir) =>
        Deno.writeTextFileSync(
          `${dir}/proc/cmdline`,
          "console=ttyS0 memmap=256M!1G memmap=1M$2G memmap=1M$3G memmap=1M$5G memmap=1M$6G\n",
        ),
      "memmap",
      "warn",
      /^5 memmap= entries: the x86 decompressor tracks at most 4/,
    ],
    [
      "the kernel image inside a memmap= range",
      (dir) =>
        Deno.writeTextFileSync(
          `${dir}/proc/cmdline`,
          "console=ttyS0 memmap=256M!1G memmap=16M$16M\n",
        ),
      "kernel-image",
      "fail",
      /^Kernel code \(0x1000000-0x1e01d31\) lies inside memmap=16M\$16M/,
    ],
    [
      "a memmap= the kernel refuses",
      (dir) =>
        Deno.writeTextFileSync(
          `${dir}/proc/cmdline`,
          "console=ttyS0 memmap=256M!1G memmap=12Q!1G\n",
        ),
      "memmap",
      "fail",
      /^12Q!1G is refused by the kernel/,
    ],
    [
      "a block device without its /dev node",
      (dir) => Deno.removeSync(`${dir}/dev/pmem0`),
      "namespace",
      "warn",
      /^\/sys\/block\/pmem0 exists but \/dev\/pmem0 does not/,
    ],
    [
      "a module the kernel does not have",
      (dir) => {
        const dep = `${dir}/lib/modules/${release}/modules.dep`;
        Deno.writeTextFileSync(
          dep,
          Deno.readTextFileSync(dep).split("\n").filter((l) =>
            !l.includes("nd_e820")
          ).join("\n"),
        );
        Deno.writeTextFileSync(
          `${dir}/proc/modules`,
          Deno.readTextFileSync(`${dir}/proc/modules`).split("\n").filter((
            l,
          ) => !l.startsWith("nd_e820 ")).join("\n"),
        );
      },
      "modules",
      "fail",
      /^nd_e820 is neither loaded nor in this kernel's modules/,
    ],
  ];
  for (const [name, change, check, status, found] of cases) {
    await t.step(name, async () => {
      const dir = copyFixture("legacy");
      try {
        change(dir);
        const { code, doc } = await doctorIn(dir);
        assert.ok(
          find(doc.checks, check, status, found),
          JSON.stringify(doc.checks, null, 1),
        );
        assert.equal(code, status === "fail" ? 1 : 0);
      } finally {
        Deno.removeSync(dir, { recursive: true });
      }
    });
  }
});

Deno.test("doctor on the platform trees: CXL capacity without a region gives the command, a provisioned one is ok; virtio-pmem names the MAP_SYNC limit; soft-reserved is not persistent, and onlined as RAM is a warning with its fix", async () => {
  for (const tree of ["cxl", "cxl-7.3"]) {
    const { code, doc } = await doctor(tree);
    assert.equal(code, 0, tree);
    const c = find(
      doc.checks,
      "cxl",
      "warn",
      /^mem0 has 256 MiB of persistent capacity in no CXL region/,
    );
    assert.ok(c, JSON.stringify(doc.checks));
    assert.equal(
      c!.fix,
      "cxl create-region -m -t pmem -d decoder0.0 -w 1 -g 4096 -s 268435456 mem0 && ndctl create-namespace --bus CXL -m fsdax (pmemctl plan cxl | sh -e)",
    );
    // Not the memmap= advice of a machine without pmem.
    assert.ok(!doc.checks.some((c) => c.check === "pmem"), tree);
    assert.ok(
      find(
        doc.checks,
        "modules",
        "ok",
        /cxl_acpi, cxl_pci, cxl_mem, cxl_port( \(built in\))?, cxl_pmem/,
      ),
      tree,
    );
  }
  for (const tree of ["cxl-fsdax", "cxl-fsdax-7.3"]) {
    const { doc } = await doctor(tree);
    assert.ok(
      find(
        doc.checks,
        "cxl",
        "ok",
        /^mem0: every byte of persistent capacity in a region: region0 \(pmem, 256 MiB as libnvdimm region0\)$/,
      ),
      tree,
    );
  }
  const virtio = await doctor("virtio-pmem");
  assert.ok(
    find(virtio.doc.checks, "virtio-pmem", "ok", /MAP_SYNC is unavailable/),
  );
  assert.ok(find(virtio.doc.checks, "modules", "ok", /virtio_pmem, nd_virtio/));
  const soft = await doctor("soft-reserved");
  assert.ok(
    find(
      soft.doc.checks,
      "soft-reserved",
      "ok",
      /not persistent.*\/dev\/dax0\.0 \(devdax\)$/,
    ),
  );
  assert.ok(
    !soft.doc.checks.some((c) => c.check === "claimed" && c.status !== "ok"),
  );
  const ram = await doctor("soft-reserved-7.3");
  const onlined = find(
    ram.doc.checks,
    "soft-reserved",
    "warn",
    /dax0\.0 was onlined as System RAM \(kmem\)/,
  );
  assert.ok(onlined, JSON.stringify(ram.doc.checks));
  assert.match(
    onlined!.fix!,
    /^daxctl reconfigure-device --mode=devdax --force dax0\.0 /,
  );
});

Deno.test("plan cxl on the captured trees: the commands, JSON, and each refusal with its exit code", async () => {
  const plan = async (...args: string[]) => {
    const out = captureOutput();
    const code = await run(["plan", "cxl", ...args], out);
    return { code, out: out.out, err: out.err };
  };
  const text = await plan("--root", `${FIX}cxl`);
  assert.equal(text.code, 0, text.err);
  assert.equal(
    text.out,
    "cxl create-region -m -t pmem -d decoder0.0 -w 1 -g 4096 -s 268435456 mem0\nndctl create-namespace --bus CXL -m fsdax\n",
  );
  const json = await plan(
    "--root",
    `${FIX}cxl-7.3`,
    "--mode",
    "devdax",
    "--json",
  );
  assert.deepEqual(JSON.parse(json.out), {
    commands: [
      "cxl create-region -m -t pmem -d decoder0.0 -w 1 -g 4096 -s 268435456 mem0",
      "ndctl create-namespace --bus CXL -m devdax -a 2M",
    ],
    memdevs: ["mem0"],
    decoder: "decoder0.0",
    size: 268435456,
    mode: "devdax",
    warnings: [],
  });
  const none = await plan("--root", `${FIX}cxl-fsdax`);
  assert.equal(none.code, 1);
  assert.equal(none.out, "");
  assert.match(
    none.err,
    /^pmemctl: plan cxl: every CXL memory device's persistent capacity is in a region already\n$/,
  );
  const noBus = await plan("--root", `${FIX}legacy`);
  assert.equal(noBus.code, 1);
  assert.match(noBus.err, /^pmemctl: plan cxl: no CXL bus/);
  for (
    const [size, code, why] of [["100M", 2, /multiple of 256 MiB/], [
      "512M",
      1,
      /has 268435456 bytes free, less than 536870912/,
    ], ["x", 2, /SIZE/]] as const
  ) {
    const r = await plan(size, "--root", `${FIX}cxl`);
    assert.equal(r.code, code, `${size}: ${r.err}`);
    assert.match(r.err, why);
    assert.equal(r.err.trimEnd().split("\n").length, 1, r.err);
  }
  const mode = await plan("--mode", "sector", "--root", `${FIX}cxl`);
  assert.equal(mode.code, 2);
});

Deno.test("plan memmap: SIZE or --start off the alignment is exit 2 in one line naming it; a plan the RAM cannot hold is exit 1", async () => {
  const plan = async (...args: string[]) => {
    const out = captureOutput();
    const code = await run([
      "plan",
      "memmap",
      ...args,
      "--keep",
      "0",
      "--root",
      `${FIX}legacy`,
    ], out);
    return { code, err: out.err };
  };
  for (
    const [args, code, line] of [
      [
        ["100M"],
        2,
        "pmemctl: SIZE: 100M is not a multiple of the 128M alignment",
      ],
      [
        ["128M", "--start", "0x1001"],
        2,
        "pmemctl: --start: 0x1001 is not 128M-aligned",
      ],
      [
        ["99G"],
        1,
        "pmemctl: plan memmap: 1 × 99G is more than the 1.75 GiB of usable RAM the e820 table lists",
      ],
    ] as const
  ) {
    const r = await plan(...args);
    assert.deepEqual([r.code, r.err], [code, `${line}\n`], args.join(" "));
  }
});

Deno.test("doctor: a CXL bus with nothing on it (Debian's kernels build it in) asks for no CXL module", async () => {
  const tree = copyFixture("legacy");
  try {
    Deno.mkdirSync(`${tree}/sys/bus/cxl/devices`, { recursive: true });
    const out = captureOutput();
    const code = await run(["doctor", "--root", tree, "--json"], out);
    const doc = JSON.parse(out.out) as { checks: Check[] };
    assert.equal(code, 0, out.err);
    assert.deepEqual(
      doc.checks.filter((c) => c.status !== "ok").map((c) => c.check),
      ["kernel-config"],
    );
    assert.ok(!doc.checks.some((c) => /cxl/.test(c.found)));
  } finally {
    Deno.removeSync(tree, { recursive: true });
  }
});
