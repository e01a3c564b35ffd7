/**
 * `pmemctl doctor` in guests, against the live kernel: all ok where pmem
 * works, and each injected fault named with its fix: an ext4 of 1 KiB
 * blocks refused DAX, bad blocks in the driver's list, a disabled
 * namespace, nd_e820 not loaded, a memmap= across the PCI hole, device-DAX
 * memory handed to the kernel with its blocks offline; and without root, it
 * says what it could not read.
 */
import assert from "node:assert/strict";
import { systemRamSetup } from "./vm/shapes.ts";
import {
  assertGuestOk,
  COMMON_MODULES,
  resolveKernel,
  runVm,
  vmTest,
} from "./vm/vm.ts";

const P = "deno run -A --cached-only cli.ts";

interface Check {
  check: string;
  status: string;
  found: string;
  fix?: string;
}
interface Report {
  checks: Check[];
  failed: number;
  rc: number;
}

/** Script lines that run `command` (doctor --json) under an `@@NAME` marker, then its exit code. */
const doctorAs = (name: string, command = `${P} doctor --json`) =>
  `echo "@@${name}"; rc=0; ${command} || rc=$?; echo "@@rc $rc"`;

function reports(stdout: string): Record<string, Report> {
  const out: Record<string, Report> = {};
  for (const part of stdout.split(/^@@(?=\w+\n)/m).slice(1)) {
    const name = part.slice(0, part.indexOf("\n"));
    const body = part.slice(name.length + 1);
    const rc = Number(body.match(/^@@rc (\d+)$/m)?.[1]);
    const json = body.slice(0, body.search(/^@@rc /m));
    out[name] = { ...JSON.parse(json), rc };
  }
  return out;
}

const has = (r: Report, check: string, status: string, found: RegExp) =>
  assert.ok(
    r.checks.some((c) =>
      c.check === check && c.status === status && found.test(c.found)
    ),
    `no ${status} ${check} matching ${found}:\n${
      JSON.stringify(r.checks, null, 1)
    }`,
  );

vmTest(
  "doctor: all ok on working memmap pmem, then each fault named",
  async () => {
    const r = await runVm({
      config: "legacy",
      script: `set -e
${doctorAs("healthy")}
mkfs.ext4 -q -F -b 1024 /dev/pmem0
mkdir -p /mnt/a
! mount -o dax /dev/pmem0 /mnt/a 2>/dev/null
mount /dev/pmem0 /mnt/a
${doctorAs("nodax")}
umount /mnt/a
echo "0 8" > /sys/block/pmem0/badblocks
${doctorAs("badblocks")}
ndctl disable-namespace namespace0.0 >/dev/null 2>&1
${doctorAs("disabled")}
${
        doctorAs(
          "nonroot",
          `su -s /bin/sh tester -c 'DENO_DIR=/tmp/deno-tester ${P} doctor --json'`,
        )
      }
echo @@plan-output
su -s /bin/sh tester -c 'DENO_DIR=/tmp/deno-tester ${P} plan memmap 128M' 2>&1 || echo "@@plan-rc $?"
`,
    });
    assertGuestOk(r);
    const all = reports(r.stdout);

    const healthy = all.healthy;
    assert.equal(healthy.rc, 0);
    assert.deepEqual(
      healthy.checks.filter((c) => c.status !== "ok"),
      [],
      "every check ok on working pmem",
    );
    has(
      healthy,
      "memmap",
      "ok",
      /^memmap=256M!1G became region0 \(\/dev\/pmem0\)/,
    );
    // The config the guest was given (tests/vm/kernels.ts), read where
    // Debian keeps it, with the value it holds.
    const given = Deno.readTextFileSync(resolveKernel(r.kernel).config!);
    const legacy = given.match(/^CONFIG_X86_PMEM_LEGACY=(\w+)$/m)![1];
    has(
      healthy,
      "kernel-config",
      "ok",
      new RegExp(
        `CONFIG_X86_PMEM_LEGACY=${legacy}\\b.*\\(/boot/config-${
          r.kernel.replace(/[.+]/g, "\\$&")
        }\\)$`,
      ),
    );
    has(healthy, "modules", "ok", /nd_e820/);

    assert.equal(all.nodax.rc, 1);
    has(
      all.nodax,
      "dax",
      "fail",
      /refused DAX on pmem0, now mounted on \/mnt\/a without it: EXT4-fs \(pmem0\): unsupported blocksize for DAX/,
    );

    assert.equal(all.badblocks.rc, 1);
    has(
      all.badblocks,
      "badblocks",
      "fail",
      /^pmem0 has 8 known bad 512-byte sectors/,
    );

    assert.equal(all.disabled.rc, 1);
    has(
      all.disabled,
      "namespace",
      "fail",
      /^namespace0\.0 \(fsdax, region0\) is disabled/,
    );
    assert.ok(
      all.disabled.checks.some((c) =>
        c.fix === "ndctl enable-namespace namespace0.0"
      ),
    );

    // Without root: the disabled namespace is still found, and what it
    // could not read is said, not guessed.
    // plan, without root, cannot read the log it plans from, and says so in
    // one line: a permission problem (exit 3), not a log without a table.
    assert.match(
      r.stdout,
      /^@@plan-output\npmemctl: plan memmap: the kernel log is not readable \(klogctl: EPERM\): run as root or pass --dmesg FILE\n@@plan-rc 3$/m,
    );
    const user = all.nonroot;
    assert.equal(user.rc, 1);
    has(user, "sources", "warn", /kernel log is not readable/);
    has(
      user,
      "kernel-image",
      "warn",
      /cannot tell where the kernel image lies/,
    );
    has(user, "namespace", "fail", /^namespace0\.0 .* is disabled/);
  },
);

vmTest(
  "doctor: nd_e820 not loaded, and a memmap= across the PCI hole",
  async () => {
    const r = await runVm({
      config: "plain",
      memoryMiB: 4096,
      modules: COMMON_MODULES,
      append: ["memmap=256M!1G", "memmap=1G!2560M"],
      script: doctorAs("hole"),
    });
    assertGuestOk(r);
    const hole = reports(r.stdout).hole;
    assert.equal(hole.rc, 1);
    has(hole, "modules", "fail", /^nd_e820 is not loaded \(available in /);
    has(
      hole,
      "claimed",
      "fail",
      /^0x40000000-0x4fffffff \(type 12\) is not claimed/,
    );
    has(
      hole,
      "memmap",
      "fail",
      /^memmap=1G!2560M covers more than usable RAM: .*no RAM at all \(a hole/,
    );
    has(hole, "memmap", "ok", /^memmap=256M!1G became a type-12 range/);
  },
);

vmTest(
  "doctor: device-DAX as System RAM with its memory blocks offline, then online",
  async () => {
    const r = await runVm({
      config: "nfit",
      script: `set -e
${systemRamSetup(false)}
${doctorAs("offline")}
${P} export prometheus --state /tmp/none.json | grep '^pmem_system_ram' | sed 's/^/@@prom-offline /'
daxctl online-memory dax0.0 >/dev/null 2>&1
${doctorAs("online")}
${P} export prometheus --state /tmp/none.json | grep '^pmem_system_ram' | sed 's/^/@@prom-online /'
`,
    });
    assertGuestOk(r);
    const all = reports(r.stdout);
    // The same blocks, as the Prometheus export counts them.
    const blocks = (when: string, state: string) =>
      Number(
        r.stdout.match(
          new RegExp(
            `^@@prom-${when} pmem_system_ram_memory_blocks\\{device="dax0\\.0",state="${state}"\\} (\\d+)$`,
            "m",
          ),
        )?.[1],
      );
    assert.ok(blocks("offline", "offline") > 0, r.stdout);
    assert.equal(blocks("offline", "online"), 0);
    assert.equal(blocks("online", "offline"), 0);
    assert.equal(blocks("online", "online"), blocks("offline", "offline"));
    assert.equal(all.offline.rc, 0, "a warning, not a failure");
    has(
      all.offline,
      "system-ram",
      "warn",
      /^dax0\.0 is System RAM \(kmem\) with 0 of \d+ memory blocks online/,
    );
    assert.ok(
      all.offline.checks.some((c) => c.fix === "daxctl online-memory dax0.0"),
    );
    has(
      all.online,
      "system-ram",
      "ok",
      /^dax0\.0 is System RAM \(kmem\): \d+ memory blocks online/,
    );
  },
);
