/**
 * `pmemctl list` inside real pmem guests, next to `ndctl list`: every
 * namespace ndctl reports appears with the same dev, mode, size and
 * blockdev/chardev, in every configuration, and as a non-root user.
 */
import assert from "node:assert/strict";
import { assertGuestOk, runVm, type VmResult, vmTest } from "./vm/vm.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

/** Guest shell: `step NAME` prints pmemctl's and ndctl's JSON between markers. */
const STEP = `
step() {
  echo "@@pmemctl $1"
  deno run -A --cached-only cli.ts list --json
  echo "@@rc $1 $?"
  echo "@@ndctl $1"
  ndctl list -N
  echo "@@end $1"
}
`;

interface Step {
  pmemctl: Json;
  code: number;
  ndctl: Json[];
}

function steps(r: VmResult): Map<string, Step> {
  assertGuestOk(r);
  const out = new Map<string, Step>();
  for (
    const m of r.stdout.matchAll(
      /@@pmemctl (\S+)\n([\s\S]*?)@@rc \S+ (\d+)\n@@ndctl \S+\n([\s\S]*?)@@end/g,
    )
  ) {
    out.set(m[1], {
      pmemctl: JSON.parse(m[2]),
      code: Number(m[3]),
      ndctl: m[4].trim() ? [JSON.parse(m[4])].flat() : [],
    });
  }
  return out;
}

/** Asserts every namespace ndctl saw is in pmemctl's list with the same identity. */
function sameNamespaces(step: Step, name: string): Json[] {
  assert.equal(
    step.code,
    0,
    `${name}: ${JSON.stringify(step.pmemctl.warnings)}`,
  );
  const ours = step.pmemctl.regions.flatMap((r: Json) => r.namespaces);
  assert.ok(step.ndctl.length > 0, `${name}: ndctl saw no namespace`);
  for (const n of step.ndctl) {
    const mine = ours.find((o: Json) => o.dev === n.dev);
    assert.ok(mine, `${name}: ${n.dev} missing from pmemctl list`);
    for (const key of ["mode", "size", "blockdev", "chardev"]) {
      assert.equal(mine[key], n[key], `${name}: ${n.dev} ${key}`);
    }
  }
  return ours;
}

vmTest(
  "list in the legacy guest: live klogctl, iomem and sysfs agree with ndctl; non-root too",
  async () => {
    const r = await runVm({
      config: "legacy",
      script: `${STEP}
step root
echo "8 8" > /sys/block/pmem0/badblocks
echo "4096 1" > /sys/block/pmem0/badblocks
step badblocks
echo "@@nonroot"
su -s /bin/sh tester -c 'DENO_DIR=/tmp/deno-tester deno run -A --cached-only cli.ts list --json; echo "@@rc $?"'
`,
    });
    const root = steps(r).get("root")!;
    sameNamespaces(root, "legacy");
    const [region] = root.pmemctl.regions;
    assert.deepEqual(
      [
        region.start,
        region.end,
        region.e820_type,
        region.sources,
        region.claimed_by,
      ],
      [
        0x40000000,
        0x4fffffff,
        12,
        ["cmdline", "e820", "iomem", "nd", "block"],
        "namespace0.0",
      ],
    );
    assert.deepEqual(root.pmemctl.warnings, []);
    // Bad blocks injected through sysfs are counted (512-byte sectors, as ndctl counts).
    const bad = steps(r).get("badblocks")!;
    assert.equal(bad.pmemctl.regions[0].namespaces[0].badblock_count, 9);

    const nonroot = r.stdout.split("@@nonroot\n")[1];
    const [json, rc] = nonroot.split("@@rc ");
    assert.equal(rc.trim(), "0");
    const doc = JSON.parse(json);
    assert.ok(
      doc.warnings.some((w: string) => w.includes("every address as 0")),
      doc.warnings,
    );
    assert.equal(doc.regions.length, 1);
    assert.equal(doc.regions[0].size, 256 << 20);
    // Without the log, iomem or region addresses, memmap= places the region.
    assert.deepEqual([doc.regions[0].start, doc.regions[0].claimed_by], [
      0x40000000,
      "namespace0.0",
    ]);
    assert.deepEqual(doc.regions[0].sources, ["cmdline", "nd", "block"]);
    assert.equal(doc.regions[0].namespaces[0].blockdev, "pmem0");
  },
);

vmTest("list in the legacy2 guest: two regions, two namespaces", async () => {
  const r = await runVm({ config: "legacy2", script: `${STEP}\nstep two` });
  const two = steps(r).get("two")!;
  sameNamespaces(two, "legacy2");
  assert.deepEqual(
    two.pmemctl.regions.map((x: Json) => [x.start, x.size, x.memmap]),
    [[0x40000000, 128 << 20, ["128M!1G"]], [0x60000000, 64 << 20, [
      "64M!0x60000000",
    ]]],
  );
});

vmTest(
  "list in the nfit guest: raw, fsdax with DAX-mounted ext4, devdax",
  async () => {
    const r = await runVm({
      config: "nfit",
      script: `${STEP}
step raw
ndctl create-namespace -f -e namespace0.0 -m fsdax -M mem >&2
mkfs.ext4 -q -F -b 4096 /dev/pmem0 >&2
mkdir -p /mnt/pmem && mount -o dax=always /dev/pmem0 /mnt/pmem
step fsdax
umount /mnt/pmem
ndctl create-namespace -f -e namespace0.0 -m devdax -a 2M >&2
step devdax
`,
    });
    const all = steps(r);
    assert.deepEqual([...all.keys()], ["raw", "fsdax", "devdax"]);
    const raw = sameNamespaces(all.get("raw")!, "raw");
    assert.equal(raw[0].mode, "raw");
    const fsdax = sameNamespaces(all.get("fsdax")!, "fsdax");
    assert.deepEqual(fsdax[0].mounts, [{
      path: "/mnt/pmem",
      fstype: "ext4",
      dax: "always",
      dax_effective: "always",
    }]);
    assert.equal(fsdax[0].dax, true);
    const devdax = sameNamespaces(all.get("devdax")!, "devdax");
    assert.deepEqual([devdax[0].chardev, devdax[0].align, devdax[0].dax], [
      "dax0.0",
      2097152,
      true,
    ]);
    for (const step of all.values()) {
      assert.equal(step.pmemctl.regions[0].e820_type, 7);
      assert.equal(step.pmemctl.regions[0].start, 0x100000000);
    }
  },
);

vmTest("list in the nfit+legacy guest: both kinds side by side", async () => {
  const r = await runVm({
    config: "nfit+legacy",
    script: `${STEP}\nstep both`,
  });
  const both = steps(r).get("both")!;
  sameNamespaces(both, "nfit+legacy");
  assert.deepEqual(
    both.pmemctl.regions.map((x: Json) => [x.e820_type, x.provider]),
    [[12, "e820"], [7, "ACPI.NFIT"]],
  );
});
