/**
 * `pmemctl plan memmap` proven by booting: planned inside a guest without
 * pmem, then a second boot with exactly the planned parameter gives each
 * planned /dev/pmemN at the planned start with the planned size, `list`
 * shows every request realised, `plan check` agrees, and `doctor` is all
 * ok. Plans: two ranges on a guest whose RAM the PCI hole splits (4 GiB),
 * one on each side, two beside a crashkernel reservation, and one with
 * `--align 1G`.
 */
import assert from "node:assert/strict";
import { assertGuestOk, runVm, vmTest } from "./vm/vm.ts";

const P = "deno run -A --cached-only cli.ts";
const MiB = 2 ** 20;
const GiB = 2 ** 30;

interface Plan {
  ranges: { start: number; size: number }[];
  param: string;
  avoided: { start: number; end: number; why: string }[];
}

const section = (stdout: string, name: string) =>
  stdout.match(new RegExp(`^@@${name}\\n([\\s\\S]*?)^@@end$`, "m"))![1];

/** Plans with `args` in a first boot, boots the plan, and checks it became exactly that. */
async function planAndBoot(
  args: string,
  options: { memoryMiB: number; append?: string[] },
): Promise<Plan> {
  const first = await runVm({
    config: "plain",
    memoryMiB: options.memoryMiB,
    append: options.append,
    script: `set -e
${P} plan memmap ${args} --json
`,
  });
  assertGuestOk(first);
  const plan: Plan = JSON.parse(first.stdout);
  const devices = plan.ranges.map((_, i) => `/dev/pmem${i}`);

  const second = await runVm({
    config: "plain",
    memoryMiB: options.memoryMiB,
    append: [...(options.append ?? []), plan.param],
    waitFor: [devices.at(-1)!],
    // Every planned device, not only the last: each range's namespace
    // probes on its own (a loaded 7.3 guest once showed one of two).
    script: `set -e
i=0
while [ "$(ls -d /sys/block/pmem* 2>/dev/null | wc -l)" -lt ${devices.length} ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
for b in /sys/block/pmem*; do echo "@@size $(cat $b/size)"; done
grep -i 'persistent memory (legacy)' /proc/iomem | sed 's/^ */@@iomem /'
echo @@list; ${P} list --json; echo @@end
echo @@check; ${P} plan check '${plan.param}' --json; echo @@end
echo @@doctor; ${P} doctor --json; echo @@end
`,
  });
  assertGuestOk(second);
  const iomem = [
    ...second.stdout.matchAll(/^@@iomem ([0-9a-f]+)-([0-9a-f]+) :/gm),
  ].map((m) => ({
    start: parseInt(m[1], 16),
    size: parseInt(m[2], 16) - parseInt(m[1], 16) + 1,
  }));
  assert.deepEqual(
    iomem,
    plan.ranges,
    "iomem holds exactly the planned ranges",
  );
  const sizes = [...second.stdout.matchAll(/^@@size (\d+)$/gm)].map((m) =>
    Number(m[1]) * 512
  );
  assert.deepEqual(sizes.sort(), plan.ranges.map((r) => r.size).sort());

  const list = JSON.parse(section(second.stdout, "list"));
  assert.deepEqual(
    list.regions.map((
      r: { start: number; size: number; sources: string[] },
    ) => [
      r.start,
      r.size,
      r.sources.includes("cmdline"),
    ]),
    plan.ranges.map((r) => [r.start, r.size, true]),
  );
  assert.deepEqual(list.warnings, []);

  const check = JSON.parse(section(second.stdout, "check"));
  assert.equal(check.failed, 0, JSON.stringify(check));
  assert.ok(
    check.requests.every((v: { realised: boolean }) => v.realised),
  );
  const doctor = JSON.parse(section(second.stdout, "doctor"));
  assert.deepEqual(
    doctor.checks.filter((c: { status: string }) => c.status !== "ok"),
    [],
    "doctor is all ok on the planned pmem",
  );
  return plan;
}

vmTest(
  "plan memmap: RAM split by the PCI hole, one range on each side of it",
  async () => {
    // 4 GiB of guest RAM: 3 GiB below the hole, 1 GiB above 4 GiB.
    const plan = await planAndBoot("1G --count 2 --keep 1G", {
      memoryMiB: 4096,
    });
    assert.equal(plan.ranges.length, 2);
    const [low, high] = plan.ranges;
    assert.deepEqual([low.size, high.size], [GiB, GiB]);
    assert.ok(low.start % (128 * MiB) === 0 && high.start % (128 * MiB) === 0);
    assert.ok(low.start + low.size <= 3 * GiB, `below the hole: ${low.start}`);
    assert.equal(high.start, 4 * GiB, "RAM above 4 GiB first");
    assert.match(plan.param, /^memmap=1G!\d+M memmap=1G!4G$/);
  },
);

vmTest(
  "plan memmap: two ranges clear of a crashkernel reservation",
  async () => {
    const plan = await planAndBoot("256M --count 2 --keep 512M", {
      memoryMiB: 2048,
      append: ["crashkernel=256M"],
    });
    assert.equal(plan.ranges.length, 2);
    const crash = plan.avoided.find((a) =>
      a.why === "the crashkernel reservation"
    );
    assert.ok(crash, JSON.stringify(plan.avoided));
    for (const r of plan.ranges) {
      assert.equal(r.size, 256 * MiB);
      assert.ok(
        r.start + r.size - 1 < crash.start || r.start > crash.end,
        `${r.start} clear of the crashkernel range`,
      );
    }
    assert.match(plan.param, /^memmap=256M!\S+ memmap=256M!\S+$/);
  },
);

vmTest(
  "plan memmap --align 1G: a whole gibibyte on a gibibyte boundary",
  async () => {
    const plan = await planAndBoot("1G --align 1G --keep 1G", {
      memoryMiB: 4096,
    });
    assert.deepEqual(plan.ranges.map((r) => [r.start % GiB, r.size]), [[
      0,
      GiB,
    ]]);
  },
);
