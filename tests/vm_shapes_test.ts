/**
 * The shapes pmem takes beyond raw, fsdax, devdax and legacy, in guests,
 * next to ndctl and daxctl: device-DAX given to the kernel as System RAM
 * (kmem) and back.
 */
import assert from "node:assert/strict";
import { LABELLED_SETUP, systemRamSetup } from "./vm/shapes.ts";
import { assertDaxctlAgrees } from "./helpers.ts";
import { assertGuestOk, runVm, vmTest } from "./vm/vm.ts";

const P = "deno run -A --cached-only cli.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

const section = (stdout: string, name: string) =>
  stdout.match(new RegExp(`^@@${name}\\n([\\s\\S]*?)^@@end$`, "m"))![1];

vmTest(
  "system-ram: devdax given to the kernel (kmem) and back, as daxctl says; map and verify refuse it",
  async () => {
    const r = await runVm({
      config: "nfit",
      script: `set -e
${systemRamSetup(true)}
echo @@daxctl-ram; daxctl list; echo @@end
echo @@list-ram; ${P} list --json; echo @@end
${P} list | sed 's/^/@@table /'
for c in "map info" "map read" "verify"; do
  rc=0; ${P} $c /dev/dax0.0 >/dev/null 2>/tmp/err || rc=$?
  echo "@@refused $c $rc $(cat /tmp/err)"
done
daxctl offline-memory dax0.0 >/dev/null 2>&1
daxctl reconfigure-device --mode=devdax dax0.0 >/dev/null 2>&1
echo @@daxctl-back; daxctl list; echo @@end
echo @@list-back; ${P} list --json; echo @@end
${P} map info /dev/dax0.0 --json >/dev/null && echo @@mappable-again
`,
    });
    assertGuestOk(r);
    const ram = JSON.parse(section(r.stdout, "list-ram"));
    const daxctlRam = JSON.parse(section(r.stdout, "daxctl-ram"));
    assert.equal(daxctlRam[0].mode, "system-ram");
    assertDaxctlAgrees(daxctlRam, ram);
    const ns = ram.regions[0].namespaces[0];
    assert.equal(ns.mode, "devdax", "the namespace's mode stays ndctl's");
    assert.equal(ns.daxdev.claimed_by, "System RAM (kmem)");
    assert.ok(ns.daxdev.total_memblocks > 0);
    assert.equal(ns.daxdev.online_memblocks, ns.daxdev.total_memblocks);
    assert.match(
      r.stdout,
      /^@@table .*dax0\.0 system-ram \(kmem, (\d+)\/\1 blocks online, movable, node 0\)$/m,
    );
    for (const c of ["map info", "map read", "verify"]) {
      assert.match(
        r.stdout,
        new RegExp(
          `^@@refused ${c} 3 pmemctl: /dev/dax0\\.0: dax0\\.0 is in use as System RAM \\(kmem, \\d+ of \\d+ memory blocks online\\), not a device to map; to give it back: daxctl offline-memory dax0\\.0 && daxctl reconfigure-device --mode=devdax dax0\\.0$`,
          "m",
        ),
        c,
      );
    }
    const back = JSON.parse(section(r.stdout, "list-back"));
    const daxctlBack = JSON.parse(section(r.stdout, "daxctl-back"));
    assert.equal(daxctlBack[0].mode, "devdax");
    assertDaxctlAgrees(daxctlBack, back);
    assert.equal(back.regions[0].namespaces[0].daxdev.mode, "devdax");
    assert.match(r.stdout, /^@@mappable-again$/m);
  },
);

vmTest(
  "labelled NVDIMM: named namespaces (fsdax, sector, devdax) as ndctl says, partitions with XFS and ext4, per-file DAX; map and verify on each",
  async () => {
    const r = await runVm({
      config: "nfit",
      nvdimmLabels: true,
      nvdimmMiB: 1024,
      waitFor: [],
      script: `set -e
${LABELLED_SETUP}
echo @@ndctl; ndctl list -RN; echo @@end
echo @@list; ${P} list --json; echo @@end
${P} list | sed 's/^/@@table /'
for f in /mnt/ext4/flagged /mnt/ext4/plain /mnt/xfs/file; do
  echo "@@info $f $(${P} map info $f --json | tr -d '\\n')"
done
echo "@@info-sector $(${P} map info /dev/pmem0.1s --json | tr -d '\\n')"
echo "@@sector-verify $(${P} verify /dev/pmem0.1s --mode destructive --force --length 8M --json | tr -d '\\n')"
head -c 1048576 /dev/urandom > /tmp/in
${P} map write /dev/pmem0.1s --input /tmp/in --offset 4096
dd if=/dev/pmem0.1s bs=4096 skip=1 count=256 2>/dev/null | cmp - /tmp/in && echo @@sector-roundtrip
rc=0; ${P} map write /dev/pmem0p1 --input /tmp/in 2>/tmp/err || rc=$?; echo "@@mounted-partition $rc $(cat /tmp/err)"
umount /mnt/ext4
# The ext4 signature is still there: overwriting it takes --force.
${P} map write /dev/pmem0p2 --input /tmp/in --force
dd if=/dev/pmem0p2 bs=1M count=1 2>/dev/null | cmp - /tmp/in && echo @@partition-roundtrip
dd if=/dev/pmem0 bs=1M count=1 skip=320 2>/dev/null | cmp - /tmp/in 2>/dev/null && echo @@partition-offset-wrong || true
echo "@@partition-verify $(${P} verify /dev/pmem0p2 --mode destructive --force --json | tr -d '\\n')"
`,
    });
    assertGuestOk(r);
    const ndctl = JSON.parse(section(r.stdout, "ndctl"));
    const list = JSON.parse(section(r.stdout, "list"));
    const [region] = list.regions;
    const nd = (Array.isArray(ndctl) ? ndctl[0] : ndctl).regions?.[0] ??
      ndctl.regions[0];
    assert.equal(region.available_size, nd.available_size);
    const keys = [
      "dev",
      "mode",
      "size",
      "uuid",
      "name",
      "sector_size",
      "blockdev",
      "chardev",
    ];
    const pick = (n: Json) =>
      Object.fromEntries(keys.filter((k) => k in n).map((k) => [k, n[k]]));
    const byDev = (a: Json, b: Json) => a.dev < b.dev ? -1 : 1;
    assert.deepEqual(
      region.namespaces.map(pick).sort(byDev),
      nd.namespaces.map(pick).sort(byDev),
    );
    const alpha = region.namespaces.find((n: Json) => n.name === "alpha");
    assert.deepEqual(
      alpha.partitions.map((
        p: Json,
      ) => [
        p.name,
        p.start,
        p.mounts.map((m: Json) => [m.path, m.fstype, m.dax, m.dax_effective]),
      ]),
      [
        ["pmem0p1", 1048576, [["/mnt/xfs", "xfs", "always", "always"]]],
        ["pmem0p2", 1048576 + 320 * 2 ** 20, [[
          "/mnt/ext4",
          "ext4",
          "inode",
          "inode",
        ]]],
      ],
    );
    const beta = region.namespaces.find((n: Json) => n.name === "beta");
    assert.deepEqual([beta.mode, beta.blockdev, beta.dax, beta.sector_size], [
      "sector",
      "pmem0.1s",
      false,
      4096,
    ]);
    assert.match(
      r.stdout,
      /^@@table .*namespace0\.0 fsdax\/dev .* pmem0 dax \[pmem0p1 320\.00 MiB on \/mnt\/xfs \(xfs, dax=always\)\] \[pmem0p2 .* on \/mnt\/ext4 \(ext4, dax=inode\)\]/m,
    );

    const info = (f: string) =>
      JSON.parse(r.stdout.match(new RegExp(`^@@info ${f} (.*)$`, "m"))![1]);
    assert.deepEqual([
      info("/mnt/ext4/flagged").dax,
      info("/mnt/ext4/flagged").map_sync,
    ], [true, true]);
    assert.deepEqual([
      info("/mnt/ext4/plain").dax,
      info("/mnt/ext4/plain").map_sync,
    ], [false, false]);
    assert.deepEqual([
      info("/mnt/xfs/file").dax,
      info("/mnt/xfs/file").map_sync,
    ], [true, true]);
    const sector = JSON.parse(r.stdout.match(/^@@info-sector (.*)$/m)![1]);
    assert.deepEqual([sector.dax, sector.io], [false, "o_direct"]);
    assert.equal(
      JSON.parse(r.stdout.match(/^@@sector-verify (.*)$/m)![1]).result,
      "pass",
    );
    assert.match(r.stdout, /^@@sector-roundtrip$/m);
    assert.match(
      r.stdout,
      /^@@mounted-partition 3 pmemctl: open \/dev\/pmem0p1: EBUSY .*mounted/m,
    );
    assert.match(r.stdout, /^@@partition-roundtrip$/m);
    assert.doesNotMatch(r.stdout, /@@partition-offset-wrong/);
    const pv = JSON.parse(r.stdout.match(/^@@partition-verify (.*)$/m)![1]);
    assert.deepEqual([pv.result, pv.length], [
      "pass",
      alpha.partitions[1].size,
    ]);
  },
);

vmTest(
  "list --probe: a stamp, a PMDK pool, a GPT and an empty namespace, told apart across a reboot",
  async () => {
    const nvdimm = Deno.makeTempFileSync({
      prefix: "pmemctl-probe-",
      suffix: ".img",
    });
    try {
      Deno.truncateSync(nvdimm, 1024 * 2 ** 20);
      const options = {
        config: "nfit" as const,
        nvdimm,
        nvdimmLabels: true,
        nvdimmMiB: 1024,
        waitFor: [],
      };
      const first = await runVm({
        ...options,
        script: `set -e
${LABELLED_SETUP}
umount /mnt/xfs /mnt/ext4
${P} verify /dev/pmem0.1s --mode stamp --force --length 16M --seed 4242 >/dev/null
pmempool create obj /dev/dax0.2
ndctl create-namespace -r region0 -s 64M -m fsdax -n delta >/dev/null
dd if=/dev/zero of=/dev/pmem0.3 bs=1M count=1 2>/dev/null
echo @@probe; ${P} list --probe --json; echo @@end
`,
      });
      assertGuestOk(first);
      // The second boot reads the same labels and data; device names may differ.
      const second = await runVm({
        ...options,
        script: `set -e
echo @@probe; ${P} list --probe --json; echo @@end
su -s /bin/sh tester -c 'DENO_DIR=/tmp/deno-tester ${P} list --probe --json' | sed 's/^/@@user /'
`,
      });
      assertGuestOk(second);
      const contents = (stdout: string) =>
        Object.fromEntries(
          JSON.parse(section(stdout, "probe")).regions[0].namespaces.map((
            n: Json,
          ) => [
            n.name,
            [
              n.content,
              n.stamp?.seed ?? n.pool ?? null,
              (n.partitions ?? []).map((p: Json) => p.content),
            ],
          ]),
        );
      const want = {
        alpha: ["gpt", null, ["xfs", "ext4"]],
        beta: ["pmemctl-stamp", 4242, []],
        gamma: ["pmdk-pool", "obj", []],
        delta: ["empty", null, []],
      };
      assert.deepEqual(contents(first.stdout), want);
      assert.deepEqual(contents(second.stdout), want);
      // Without root it says what it could not read, and still lists.
      assert.match(second.stdout, /^@@user .*"content": "unreadable"/m);
    } finally {
      Deno.removeSync(nvdimm);
    }
  },
);
