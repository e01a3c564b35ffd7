/**
 * `pmemctl plan memmap` proven by booting: planned inside a guest without
 * pmem (4 GiB of RAM, split by the PCI hole), then a second boot with
 * exactly the planned parameter gives /dev/pmem0 at the planned start with
 * the planned size, and `list` shows the request realised.
 */
import assert from "node:assert/strict";
import { assertGuestOk, runVm, vmTest } from "./vm/vm.ts";

const P = "deno run -A --cached-only cli.ts";
const MiB = 2 ** 20;

const ok = (r: { code: number; console: string }) => assertGuestOk(r);

vmTest(
  "plan memmap: the planned parameter boots into exactly that pmem",
  async () => {
    const first = await runVm({
      config: "plain",
      memoryMiB: 4096,
      script: `set -e
${P} plan memmap 512M --keep 1G --json
`,
    });
    ok(first);
    const plan = JSON.parse(first.stdout);
    assert.equal(plan.ranges.length, 1);
    const [{ start, size }] = plan.ranges;
    assert.equal(size, 512 * MiB);
    assert.equal(start % (128 * MiB), 0);
    // qemu puts RAM above 4 GiB when the guest has more than the low window.
    assert.ok(start >= 4 * 2 ** 30, `planned above 4 GiB: ${start}`);
    assert.match(plan.param, /^memmap=512M!\d+[GM]$/);

    const second = await runVm({
      config: "plain",
      memoryMiB: 4096,
      append: [plan.param],
      waitFor: ["/dev/pmem0"],
      script: `set -e
echo "@@size $(cat /sys/block/pmem0/size)"
grep -i 'persistent memory (legacy)' /proc/iomem | sed 's/^ */@@iomem /'
echo @@list; ${P} list --json; echo @@end
`,
    });
    ok(second);
    assert.match(second.stdout, new RegExp(`^@@size ${size / 512}$`, "m"));
    const iomem = second.stdout.match(/^@@iomem ([0-9a-f]+)-([0-9a-f]+) :/m);
    assert.ok(iomem, second.stdout);
    assert.equal(parseInt(iomem[1], 16), start);
    assert.equal(parseInt(iomem[2], 16), start + size - 1);
    const list = JSON.parse(
      second.stdout.match(/^@@list\n([\s\S]*?)^@@end$/m)![1],
    );
    assert.deepEqual(
      [
        list.regions[0].start,
        list.regions[0].size,
        list.regions[0].sources.includes("cmdline"),
      ],
      [start, size, true],
    );
    assert.deepEqual(list.warnings, []);
  },
);
