/**
 * The guest configurations themselves: each boots into the pmem it
 * promises, on both kernels, and the NVDIMM keeps its content across boots.
 */
import assert from "node:assert/strict";
import { assertGuestOk, installedKernels, runVm, vmTest } from "./vm/vm.ts";

const check = (r: { code: number; console: string }) => assertGuestOk(r);

const SIZES =
  `for d in /sys/block/pmem*; do echo "$(basename $d) $(cat $d/size)"; done`;

vmTest("legacy2: two memmap= ranges become two pmem devices", async () => {
  const r = await runVm({
    config: "legacy2",
    script: `${SIZES}\ngrep -i persistent /proc/iomem`,
  });
  check(r);
  const sizes = [...r.stdout.matchAll(/^pmem\d+ (\d+)$/gm)].map((m) =>
    Number(m[1]) * 512
  ).sort((a, b) => a - b);
  assert.deepEqual(sizes, [64 << 20, 128 << 20]);
  assert.match(r.stdout, /^40000000-47ffffff : Persistent Memory \(legacy\)$/m);
  assert.match(r.stdout, /^60000000-63ffffff : Persistent Memory \(legacy\)$/m);
});

vmTest(
  "nfit+legacy: an NFIT NVDIMM and a memmap= range side by side",
  async () => {
    const r = await runVm({
      config: "nfit+legacy",
      script: `${SIZES}\ngrep -i persistent /proc/iomem`,
    });
    check(r);
    assert.match(
      r.stdout,
      /^40000000-4fffffff : Persistent Memory \(legacy\)$/m,
    );
    assert.match(r.stdout, /^[0-9a-f]+-[0-9a-f]+ : Persistent Memory$/m);
    assert.equal([...r.stdout.matchAll(/^pmem\d+ \d+$/gm)].length, 2);
  },
);

vmTest(
  "kernel 6.12: the legacy guest boots Debian's 6.12 and finds /dev/pmem0",
  async () => {
    const r = await runVm({
      config: "legacy",
      kernel: "6.12",
      script:
        "uname -r\ndeno run -A --cached-only tests/vm/probe.ts size /dev/pmem0",
    });
    check(r);
    assert.match(r.stdout, /^6\.12\./m);
    assert.match(r.stdout, /"size":268435456/);
    assert.match(installedKernels().join(" "), /6\.12\./);
  },
  "6.12",
);

vmTest(
  "nfit: the NVDIMM's backing file keeps devdax content across power-off",
  async () => {
    const file = Deno.makeTempFileSync({ prefix: "pmemctl-nvdimm-" });
    try {
      Deno.truncateSync(file, 512 << 20);
      const first = await runVm({
        config: "nfit",
        nvdimm: file,
        script: `set -e
ndctl create-namespace -f -e namespace0.0 -m devdax -a 2M >&2
head -c 1048576 /dev/urandom > /tmp/data
daxio -i /tmp/data -o /dev/dax0.0 -s 6291456 -l 1048576 >&2
sha256sum /tmp/data | cut -d' ' -f1
`,
      });
      check(first);
      const second = await runVm({
        config: "nfit",
        nvdimm: file,
        script: `set -e
cat /sys/bus/dax/devices/dax0.0/size >&2
daxio -i /dev/dax0.0 -o /tmp/back -k 6291456 -l 1048576 >&2
sha256sum /tmp/back | cut -d' ' -f1
`,
      });
      check(second);
      assert.match(first.stdout.trim(), /^[0-9a-f]{64}$/);
      assert.equal(second.stdout.trim(), first.stdout.trim());
    } finally {
      Deno.removeSync(file);
    }
  },
);

vmTest(
  "a guest kernel that panics before /init ran is booted once more, and a second panic is reported as such",
  async () => {
    // No init at all: the kernel panics before userspace, every time.
    await assert.rejects(
      runVm({
        config: "plain",
        append: ["rdinit=/no-such-init", "init=/no-such-init"],
        script: "true",
        timeoutSeconds: 120,
      }),
      /did not finish its script \(booted twice: the first boot panicked before \/init ran\)/,
    );
  },
);
