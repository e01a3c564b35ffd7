/**
 * The module source builds through DKMS for a given kernel version (Debian's
 * dkms), in scratch source and DKMS trees so the system's are untouched.
 */
import assert from "node:assert/strict";
import { pmemctl } from "./helpers.ts";
import { compilerFromConfig } from "../src/kmod/kmod.ts";
import { availableKernels } from "./vm/kernels.ts";
import { installedKernels } from "./vm/vm.ts";
import { have, requireThat } from "./require.ts";

const KMOD = new URL("../kmod/", import.meta.url).pathname;

const missing = !have("dkms")
  ? "dkms is not installed (apt-get install dkms)"
  : undefined;
requireThat(
  missing,
  "dkms add + build of kmod/ for Debian's 6.1 and 6.12 kernels",
  async () => {
    const kernels = ["6.1.", "6.12."].map((s) =>
      installedKernels().find((k) => k.startsWith(s))
    );
    assert.ok(
      kernels.every((k) => k),
      `need a 6.1 and a 6.12 kernel with headers: ${installedKernels()}`,
    );
    const dir = Deno.makeTempDirSync({ prefix: "pmemctl-dkms-" });
    try {
      const src = `${dir}/src/pmem-legacy-0.1.0`;
      Deno.mkdirSync(src, { recursive: true });
      Deno.mkdirSync(`${dir}/tree`);
      for (const f of ["pmem_legacy.c", "Kbuild", "Makefile", "dkms.conf"]) {
        Deno.copyFileSync(`${KMOD}${f}`, `${src}/${f}`);
      }
      const trees = ["--sourcetree", `${dir}/src`, "--dkmstree", `${dir}/tree`];
      const run = async (...args: string[]) => {
        const out = await new Deno.Command("dkms", {
          args: [...args, ...trees],
        }).output();
        const text = new TextDecoder().decode(out.stdout) +
          new TextDecoder().decode(out.stderr);
        assert.ok(out.success, `dkms ${args.join(" ")}:\n${text}`);
      };
      await run("add", "-m", "pmem-legacy", "-v", "0.1.0");
      for (const k of kernels) {
        await run("build", "-m", "pmem-legacy", "-v", "0.1.0", "-k", k!);
        // 6.12 compresses modules: pmem_legacy.ko.xz.
        const built = [
          ...Deno.readDirSync(
            `${dir}/tree/pmem-legacy/0.1.0/${k}/x86_64/module`,
          ),
        ].map((e) => e.name);
        assert.ok(
          built.some((n) => /^pmem_legacy\.ko(\.xz|\.zst)?$/.test(n)),
          `${k}: ${built}`,
        );
      }
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
);

const FIXTURES = new URL("./fixtures/", import.meta.url).pathname;

Deno.test("kmod source writes the shipped files byte for byte", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    const r = await pmemctl("kmod", "source", `${dir}/out`);
    assert.equal(r.code, 0, r.stderr);
    for (
      const f of [
        "pmem_legacy.c",
        "Kbuild",
        "Makefile",
        "dkms.conf",
        "README.md",
      ]
    ) {
      assert.deepEqual(
        Deno.readFileSync(`${dir}/out/${f}`),
        Deno.readFileSync(`${KMOD}${f}`),
        f,
      );
    }
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("kmod status on the captured legacy guest: nd_pmem's namespace holds the range", async () => {
  const r = await pmemctl(
    "kmod",
    "status",
    "--json",
    "--root",
    `${FIXTURES}legacy`,
  );
  assert.equal(r.code, 0, r.stderr);
  const status = JSON.parse(r.stdout);
  assert.deepEqual(status.ranges, [{
    start: 0x40000000,
    end: 0x4fffffff,
    size: 256 * 2 ** 20,
    claimed_by: "namespace0.0",
  }]);
  assert.equal(status.unclaimed, 0);
  const loaded = status.modules.filter((m: { loaded: boolean }) => m.loaded)
    .map((m: { name: string }) => m.name);
  assert.deepEqual(loaded, [
    "libnvdimm",
    "nd_e820",
    "nd_pmem",
    "nd_btt",
    "dax_pmem",
    "device_dax",
  ]);
  assert.equal(
    (await pmemctl("kmod", "status", "--root", "/nonexistent-pmemctl")).code,
    2,
  );
});

const kver61 = installedKernels().find((k) => k.startsWith("6.1."));

requireThat(
  kver61 ? undefined : "no 6.1 kernel with headers (tools/setup.sh --vm)",
  "kmod build against installed headers prints the module's path; missing headers are exit 3",
  async () => {
    const kver = kver61!;
    const dir = Deno.makeTempDirSync();
    try {
      const r = await pmemctl("kmod", "build", "--kver", kver, "--out", dir);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout.trim(), `${dir}/pmem_legacy.ko`);
      assert.ok(Deno.statSync(`${dir}/pmem_legacy.ko`).size > 0);
      const bad = await pmemctl(
        "kmod",
        "build",
        "--kver",
        "5.0.0-none",
        "--out",
        dir,
      );
      assert.equal(bad.code, 3);
      assert.match(
        bad.stderr,
        /^pmemctl: \/lib\/modules\/5\.0\.0-none\/build: no kernel headers there/,
      );
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
);

Deno.test("compilerFromConfig reads the headers' compiler and its Debian package", () => {
  assert.deepEqual(
    compilerFromConfig(
      '#\nCONFIG_CC_VERSION_TEXT="x86_64-linux-gnu-gcc-14 (Debian 14.2.0-19) 14.2.0"\nCONFIG_CC_IS_GCC=y\n',
    ),
    {
      text: "x86_64-linux-gnu-gcc-14 (Debian 14.2.0-19) 14.2.0",
      command: "x86_64-linux-gnu-gcc-14",
      package: "gcc-14",
    },
  );
  assert.deepEqual(
    compilerFromConfig(
      'CONFIG_CC_VERSION_TEXT="gcc-12 (Debian 12.2.0-14+deb12u1) 12.2.0"',
    ),
    {
      text: "gcc-12 (Debian 12.2.0-14+deb12u1) 12.2.0",
      command: "gcc-12",
      package: "gcc-12",
    },
  );
  assert.equal(compilerFromConfig("CONFIG_X=y\n"), undefined);
});

const trixieHeaders = (() => {
  const k = availableKernels().find((k) => k.buildRoot);
  return k && `${k.buildRoot}${k.headers}`;
})();

requireThat(
  trixieHeaders
    ? undefined
    : "no trixie-built kernel headers in .vm-cache (tools/kernels.sh)",
  "kmod build against headers whose compiler the system lacks says which to install (exit 3)",
  async () => {
    const r = await pmemctl(
      "kmod",
      "build",
      "--kdir",
      trixieHeaders!,
      "--out",
      Deno.makeTempDirSync(),
    );
    assert.equal(r.code, 3, r.stderr);
    assert.match(
      r.stderr,
      /^pmemctl: kmod build: the headers in .* were built with x86_64-linux-gnu-gcc-1\d .*, and x86_64-linux-gnu-gcc-1\d is not installed here \(apt-get install gcc-1\d\)\n$/,
    );
  },
);
