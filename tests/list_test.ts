/**
 * `pmemctl list` on the trees captured from the guests (--root), run as a
 * user runs it, plus the cases a live machine rarely shows: hidden
 * addresses, a rotated log, a failed memmap=, an unclaimed range.
 */
import assert from "node:assert/strict";
import { assertDaxctlAgrees, CLI, copyFixture, pmemctl } from "./helpers.ts";

const FIXTURES = new URL("./fixtures/", import.meta.url).pathname;
const SCENARIOS = [...Deno.readDirSync(FIXTURES)]
  .filter((e) => e.isDirectory && e.name !== "logs" && e.name !== "faults")
  .map((e) => e.name)
  .sort();

// deno-lint-ignore no-explicit-any
type Json = any;

async function listJson(
  ...args: string[]
): Promise<{ code: number; doc: Json; stderr: string }> {
  const r = await pmemctl("list", "--json", ...args);
  return {
    code: r.code,
    doc: r.stdout ? JSON.parse(r.stdout) : undefined,
    stderr: r.stderr,
  };
}

for (const scenario of SCENARIOS) {
  Deno.test(`list --root ${scenario}: every namespace ndctl listed, same dev/mode/size/blockdev/chardev`, async () => {
    const { code, doc, stderr } = await listJson(
      "--root",
      `${FIXTURES}${scenario}`,
    );
    assert.equal(code, 0, stderr);
    // ndctl prints nothing where there is no libnvdimm region (soft-reserved
    // memory, a CXL device before its region), and one bus without "regions".
    const text = Deno.readTextFileSync(
      `${FIXTURES}${scenario}/ndctl-list.json`,
    ).trim();
    const raw = text ? JSON.parse(text) : [];
    const ndctl = (Array.isArray(raw) ? raw : [raw]).flatMap((b: Json) =>
      (b.regions ?? []).flatMap((r: Json) => r.namespaces ?? [])
    );
    const ours = doc.regions.filter((r: Json) => r.nd_region)
      .flatMap((r: Json) => r.namespaces);
    const pick = (n: Json) => ({
      dev: n.dev,
      mode: n.mode,
      size: n.size,
      blockdev: n.blockdev,
      chardev: n.chardev,
      uuid: n.uuid,
      name: n.name,
    });
    const byDev = (a: Json, b: Json) => a.dev < b.dev ? -1 : 1;
    assert.deepEqual(ours.map(pick).sort(byDev), ndctl.map(pick).sort(byDev));
    for (const r of doc.regions) {
      assert.ok(r.start > 0 && r.end > r.start, "real addresses, never zeros");
      assert.equal(r.size, r.end - r.start + 1);
      // What claims the range in iomem: a namespace, a CXL region (which
      // holds its "Persistent Memory"), or dax_hmem's device.
      const claimer = {
        e820: /^namespace/,
        "ACPI.NFIT": /^namespace/,
        "virtio-pmem": /^namespace/,
        CXL: /^region\d+$/,
        hmem: /^dax\d+\.\d+$/,
      }[r.provider as string];
      assert.ok(claimer, `a known provider: ${JSON.stringify(r)}`);
      assert.match(r.claimed_by ?? "", claimer!, JSON.stringify(r));
      assert.equal(
        r.e820_type,
        { e820: 12, "ACPI.NFIT": 7, hmem: 0xefffffff }[r.provider as string] ??
          null,
      );
      assert.equal(r.persistent, r.provider !== "hmem");
    }
    const expected: Record<string, RegExp[]> = {
      cxl: [
        /^mem0 has 256\.00 MiB of persistent capacity that no CXL region uses/,
      ],
      "cxl-7.3": [
        /^mem0 has 256\.00 MiB of persistent capacity that no CXL region uses/,
      ],
      "soft-reserved": [/^no sys\/bus\/nd under /],
      "soft-reserved-7.3": [/^no sys\/bus\/nd under /],
    };
    const want = expected[scenario] ?? [];
    assert.equal(doc.warnings.length, want.length, doc.warnings.join("\n"));
    want.forEach((re, i) => assert.match(doc.warnings[i], re));
  });
}

Deno.test("list --root legacy: the spec's region, seen by every source", async () => {
  const { doc } = await listJson("--root", `${FIXTURES}legacy`);
  const [r] = doc.regions;
  assert.deepEqual(
    { ...r, namespaces: undefined },
    {
      start: 0x40000000,
      end: 0x4fffffff,
      size: 256 << 20,
      e820_type: 12,
      sources: ["cmdline", "e820", "iomem", "nd", "block"],
      claimed_by: "namespace0.0",
      persistence_domain: "unknown",
      namespaces: undefined,
      nd_region: "region0",
      provider: "e820",
      persistent: true,
      memmap: ["256M!1G"],
      // available_size is not in the capture (ndctl says 0 for both).
      max_available_extent: 0,
    },
  );
  assert.deepEqual(r.namespaces[0], {
    dev: "namespace0.0",
    mode: "fsdax",
    map: "mem",
    size: 256 << 20,
    blockdev: "pmem0",
    dax: true,
    badblock_count: 0,
    mounts: [],
  });
});

Deno.test("list --root nfit-fsdax-mounted: the mount and its DAX option", async () => {
  const { doc } = await listJson("--root", `${FIXTURES}nfit-fsdax-mounted`);
  assert.deepEqual(doc.regions[0].namespaces[0].mounts, [{
    path: "/mnt/pmem",
    fstype: "ext4",
    dax: "always",
    dax_effective: "always",
  }]);
  assert.equal(doc.regions[0].e820_type, 7);
  assert.equal(doc.regions[0].namespaces[0].align, 2097152);
});

Deno.test("list -u: ndctl-style sizes and hex addresses", async () => {
  const { doc } = await listJson("-u", "--root", `${FIXTURES}nfit-devdax`);
  const r = doc.regions[0];
  assert.equal(r.start, "0x100000000");
  assert.equal(r.size, "512.00 MiB (536.87 MB)");
  assert.equal(r.namespaces[0].size, "502.00 MiB (526.39 MB)");
  assert.deepEqual(r.claims.map((c: Json) => c.start), [
    "0x100000000",
    "0x100a00000",
  ]);
});

Deno.test("list as non-root: hidden iomem and region addresses; never zeros", async () => {
  const tree = copyFixture("legacy");
  try {
    Deno.copyFileSync(`${tree}/proc/iomem.nonroot`, `${tree}/proc/iomem`);
    Deno.removeSync(`${tree}/dmesg.txt`);
    for (const ns of ["region0", "namespace0.0"]) {
      Deno.removeSync(`${tree}/sys/bus/nd/devices/${ns}/resource`);
    }
    // The memmap= request places libnvdimm's region of the same size.
    const { code, doc } = await listJson("--root", tree);
    assert.equal(code, 0);
    assert.equal(doc.regions.length, 1);
    assert.deepEqual(
      [
        doc.regions[0].start,
        doc.regions[0].end,
        doc.regions[0].size,
        doc.regions[0].claimed_by,
      ],
      [0x40000000, 0x4fffffff, 256 << 20, "namespace0.0"],
    );
    assert.deepEqual(doc.regions[0].sources, ["cmdline", "nd", "block"]);
    assert.ok(
      doc.warnings.some((w: string) => w.includes("every address as 0")),
    );
    // With the log back, the addresses come from it.
    const withLog = await listJson(
      "--root",
      tree,
      "--dmesg",
      `${FIXTURES}legacy/dmesg.txt`,
    );
    assert.equal(withLog.doc.regions[0].start, 0x40000000);
    assert.deepEqual(withLog.doc.regions[0].sources, [
      "cmdline",
      "e820",
      "nd",
      "block",
    ]);
    // Without the command line either, the size is all that is known: no address at all.
    Deno.removeSync(`${tree}/proc/cmdline`);
    const blind = await listJson("--root", tree);
    assert.equal(blind.code, 0);
    assert.deepEqual([blind.doc.regions[0].start, blind.doc.regions[0].end], [
      null,
      null,
    ]);
    assert.equal(blind.doc.regions[0].size, 256 << 20);
  } finally {
    Deno.removeSync(tree, { recursive: true });
  }
});

Deno.test("list with a rotated kernel log says so and carries on", async () => {
  const { code, doc } = await listJson(
    "--root",
    `${FIXTURES}legacy`,
    "--dmesg",
    `${FIXTURES}logs/rotated.txt`,
  );
  assert.equal(code, 0);
  assert.equal(doc.regions[0].start, 0x40000000);
  assert.ok(!doc.regions[0].sources.includes("e820"));
  assert.ok(
    doc.warnings.some((w: string) => /no e820 table .*rotated/.test(w)),
  );
});

Deno.test("list --dmesg - reads the log from stdin; a log alone lists what it says", async () => {
  const empty = Deno.makeTempDirSync();
  try {
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        CLI,
        "list",
        "--json",
        "--root",
        empty,
        "--dmesg",
        "-",
      ],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const w = child.stdin.getWriter();
    await w.write(
      Deno.readFileSync(`${FIXTURES}logs/mail-quoted-printable.txt`),
    );
    await w.close();
    const out = await child.output();
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    const doc = JSON.parse(new TextDecoder().decode(out.stdout));
    assert.deepEqual(
      doc.regions.map((r: Json) => [r.start, r.end, r.sources, r.claimed_by]),
      [
        [0x40000000, 0x4fffffff, ["cmdline", "e820"], null],
      ],
    );
  } finally {
    Deno.removeSync(empty);
  }
});

Deno.test("list: a memmap= that did not become a region exits 1 with reasons", async () => {
  const cmd = Deno.makeTempFileSync();
  try {
    Deno.writeTextFileSync(
      cmd,
      "ro memmap=256M!1G memmap=512M!0xfe000000 memmap=1G\\$4G\n",
    );
    const { code, doc, stderr } = await listJson(
      "--root",
      `${FIXTURES}legacy`,
      "--cmdline",
      cmd,
    );
    assert.equal(code, 1);
    assert.equal(doc.regions.length, 1);
    assert.equal(doc.warnings.length, 2);
    assert.match(
      doc.warnings.join("\n"),
      /memmap=512M!0xfe000000 did not become a region/,
    );
    assert.match(doc.warnings.join("\n"), /'\\' before '\$'/);
    assert.match(
      stderr.trimEnd().split("\n").at(-1)!,
      /^pmemctl: list: 2 memmap= requests did not become a region/,
    );
  } finally {
    Deno.removeSync(cmd);
  }
});

Deno.test("list: a type-12 range nothing claims gets a hint", async () => {
  const tree = copyFixture("legacy");
  try {
    const iomem = Deno.readTextFileSync(`${tree}/proc/iomem`).replace(
      /^ {2}40000000-4fffffff : namespace0\.0\n/m,
      "",
    );
    Deno.writeTextFileSync(`${tree}/proc/iomem`, iomem);
    Deno.removeSync(`${tree}/sys/bus/nd`, { recursive: true });
    const { code, doc } = await listJson("--root", tree);
    assert.equal(code, 0);
    assert.equal(doc.regions[0].claimed_by, null);
    assert.ok(
      doc.warnings.some((w: string) =>
        /0x40000000-0x4fffffff \(type 12\) is not claimed.*nd_e820/.test(w)
      ),
      doc.warnings,
    );
  } finally {
    Deno.removeSync(tree, { recursive: true });
  }
});

Deno.test("list: bad input is one line and exit 2", async () => {
  for (
    const args of [
      ["--root", "/nonexistent-pmemctl"],
      ["--dmesg", "/nonexistent-pmemctl.log"],
      ["--cmdline", "/nonexistent-pmemctl.txt"],
      ["--bogus"],
    ]
  ) {
    const r = await pmemctl("list", ...args);
    assert.equal(r.code, 2, args.join(" "));
    assert.equal(r.stderr.trimEnd().split("\n").length, 1, r.stderr);
    assert.match(r.stderr, /^pmemctl: /);
  }
});

Deno.test("list table: one row per namespace, warnings on stderr", async () => {
  const r = await pmemctl("list", "--root", `${FIXTURES}nfit+legacy`);
  assert.equal(r.code, 0);
  const lines = r.stdout.trimEnd().split("\n");
  assert.match(
    lines[0],
    /^START\s+END\s+SIZE\s+TYPE\s+PROVIDER\s+CLAIMED BY\s+SOURCES\s+NAMESPACES$/,
  );
  assert.match(
    lines[1],
    /^0x40000000\s+0x4fffffff\s+256\.00 MiB\s+12\s+e820\s+namespace0\.0\s+cmdline,e820,iomem,nd,block\s+namespace0\.0 fsdax\/mem 256\.00 MiB pmem0 dax$/,
  );
  assert.match(
    lines[2],
    /^0x100000000\s+0x11fffffff\s+512\.00 MiB\s+7\s+ACPI\.NFIT\s+namespace1\.0\s+iomem,nd,block\s+namespace1\.0 raw 512\.00 MiB pmem1$/,
  );
  assert.equal(r.stderr, "");
});

for (const scenario of SCENARIOS) {
  const file = `${FIXTURES}${scenario}/daxctl-list.json`;
  let daxctl: Json[] = [];
  try {
    const text = Deno.readTextFileSync(file).trim();
    daxctl = text ? JSON.parse(text) : [];
  } catch { /* no daxctl output */ }
  if (daxctl.length === 0) continue;
  Deno.test(`list --root ${scenario}: every device daxctl listed, with daxctl's keys and values`, async () => {
    const { doc } = await listJson("--root", `${FIXTURES}${scenario}`);
    assertDaxctlAgrees(daxctl, doc);
  });
}
