/**
 * The shapes pmem takes beyond raw, fsdax, devdax and legacy, in guests,
 * next to ndctl and daxctl: device-DAX given to the kernel as System RAM
 * (kmem) and back.
 */
import assert from "node:assert/strict";
import { assertGuestOk, runVm, vmTest } from "./vm/vm.ts";

const P = "deno run -A --cached-only cli.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

const section = (stdout: string, name: string) =>
  stdout.match(new RegExp(`^@@${name}\\n([\\s\\S]*?)^@@end$`, "m"))![1];

/** `daxctl list`'s devices against the daxdev of list's namespaces, on daxctl's keys. */
function assertSameAsDaxctl(daxctl: Json[], list: Json) {
  const ours = list.regions.flatMap((r: Json) => r.namespaces)
    .map((n: Json) => n.daxdev).filter(Boolean);
  const pick = (d: Json, keys: string[]) =>
    Object.fromEntries(keys.filter((k) => k in d).map((k) => [k, d[k]]));
  for (const d of daxctl) {
    const mine = ours.find((o: Json) => o.chardev === d.chardev);
    assert.ok(mine, `${d.chardev} in list`);
    assert.deepEqual(pick(mine, Object.keys(d)), d);
  }
}

vmTest(
  "system-ram: devdax given to the kernel (kmem) and back, as daxctl says; map and verify refuse it",
  async () => {
    const r = await runVm({
      config: "nfit",
      script: `set -e
ndctl create-namespace -f -e namespace0.0 -m devdax -a 2M >/dev/null
modprobe kmem
echo offline > /sys/devices/system/memory/auto_online_blocks
daxctl reconfigure-device --mode=system-ram dax0.0 >/dev/null
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
    assertSameAsDaxctl(daxctlRam, ram);
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
    assertSameAsDaxctl(daxctlBack, back);
    assert.equal(back.regions[0].namespaces[0].daxdev.mode, "devdax");
    assert.match(r.stdout, /^@@mappable-again$/m);
  },
);
