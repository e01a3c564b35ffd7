/**
 * `pmemctl export` live in a guest (an NVDIMM with a DAX-mounted fsdax
 * namespace beside a memmap= range), checked on the host by the consumers'
 * own rules: promtool, JSON, NFD's line format.
 */
import assert from "node:assert/strict";
import { LABEL } from "../src/export/nfd.ts";
import { promtoolCheck } from "./helpers.ts";
import { have } from "./require.ts";
import { assertGuestOk, runVm, vmTest } from "./vm/vm.ts";

const P = "deno run -A --cached-only cli.ts";

const section = (stdout: string, name: string) =>
  stdout.match(new RegExp(`^@@${name}\\n([\\s\\S]*?)^@@end$`, "m"))![1];

vmTest("export: prometheus, ansible and nfd from a live guest", async () => {
  const r = await runVm({
    config: "nfit+legacy",
    script: `set -e
# region0 is the memmap= range (/dev/pmem0), region1 the NVDIMM.
ndctl create-namespace -f -e namespace1.0 -m fsdax -M mem >/dev/null
mkfs.ext4 -q -F -b 4096 /dev/pmem1
mkdir -p /mnt/pmem && mount -o dax=always /dev/pmem1 /mnt/pmem
${P} verify /dev/pmem0 --record --state /tmp/state.json >/dev/null
echo @@prometheus; ${P} export prometheus --state /tmp/state.json; echo @@end
echo @@ansible; ${P} export ansible --state /tmp/state.json; echo @@end
echo @@nfd; ${P} export nfd --state /tmp/state.json; echo @@end
`,
  });
  assertGuestOk(r);
  const prom = section(r.stdout, "prometheus");
  if (have("promtool", ["--version"])) {
    const { ok, said } = await promtoolCheck(prom);
    assert.ok(ok, said);
  }
  assert.match(prom, /^pmem_present 1$/m);
  assert.match(
    prom,
    /^pmem_mount_dax\{mountpoint="\/mnt\/pmem",device="pmem1",fstype="ext4",requested="always"\} 1$/m,
  );
  assert.match(
    prom,
    /^pmem_memmap_request_realised\{param="memmap=256M!1G",start="0x40000000",size="268435456"\} 1$/m,
  );
  assert.match(
    prom,
    /^pmem_verify_last_success\{target="\/dev\/pmem0",mode="scan"\} 1$/m,
  );
  const facts = JSON.parse(section(r.stdout, "ansible"));
  assert.deepEqual(facts.modes, ["fsdax"]);
  assert.equal(facts.regions.length, 2);
  assert.equal(facts.verify[0].target, "/dev/pmem0");
  const nfd = section(r.stdout, "nfd").trimEnd().split("\n");
  for (const line of nfd) {
    const [name, value] = line.split("=");
    assert.ok(LABEL.test(name) && LABEL.test(value), line);
  }
  assert.ok(nfd.includes("pmem.legacy=true") && nfd.includes("pmem.nfit=true"));
});
