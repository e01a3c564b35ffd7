/**
 * The Debian packages, as a user installs them: built by tools/deb.ts,
 * checked by lintian, installed with apt in clean roots made with
 * debootstrap (bookworm and trixie, cached in .vm-cache/roots), used there,
 * and removed without a trace; the DKMS package builds pmem_legacy for the
 * kernel whose headers the root has (and, through DKMS's hook, for headers
 * that come later), and that module loads in a guest of the same kernel and
 * claims a memmap= range. One version everywhere.
 */
import assert from "node:assert/strict";
import { VERSION } from "../src/version.ts";
import { SYSTEMD_UNITS } from "../tools/deb.ts";
import { debs } from "./packages.ts";
import { have, inCI, requireThat } from "./require.ts";
import {
  assertGuestOk,
  COMMON_MODULES,
  resolveKernel,
  runVm,
  vmUnavailable,
} from "./vm/vm.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const ROOTS = `${ROOT}.vm-cache/roots`;
const FIX = `${ROOT}tests/fixtures/`;

const text = (b: Uint8Array) => new TextDecoder().decode(b);

/**
 * apt with no network: a proxy nobody listens on. What the root does not
 * already hold cannot be installed. (libpmem1 is only recommended: without
 * it pmemctl says writes to DAX use no CPU cache flush.)
 */
const OFFLINE = [
  "-o",
  "Acquire::http::Proxy=http://127.0.0.1:9",
  "-o",
  "Acquire::https::Proxy=http://127.0.0.1:9",
  "--no-install-recommends",
];

function sh(cmd: string, args: string[]): { code: number; out: string } {
  const r = new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" })
    .outputSync();
  return { code: r.code, out: text(r.stdout) + text(r.stderr) };
}

function must(cmd: string, args: string[]): string {
  const r = sh(cmd, args);
  assert.equal(r.code, 0, `${cmd} ${args.join(" ")}:\n${r.out}`);
  return r.out;
}

/** A scratch copy of a cached root (made first if needed by tools/roots.sh). */
function rootCopy(
  kind: "clean" | "dkms" | "systemd",
  suite: string,
  kver?: string,
) {
  must("bash", [`${ROOT}tools/roots.sh`, kind, suite, ...(kver ? [kver] : [])]);
  const dir = Deno.makeTempDirSync({ prefix: `pmemctl-${kind}-${suite}-` });
  must("cp", ["-a", `${ROOTS}/${kind}-${suite}/.`, dir]);
  const inRoot = (
    ...cmd: string[]
  ) => [`${ROOT}tools/roots.sh`, "in", dir, ...cmd];
  return {
    dir,
    run: (...cmd: string[]) => sh("bash", inRoot(...cmd)),
    must: (...cmd: string[]) => must("bash", inRoot(...cmd)),
    /** apt-get install of a package file inside the root, offline. */
    install: (deb: string) =>
      must("bash", inRoot("apt-get", "install", "-y", ...OFFLINE, deb)),
    [Symbol.dispose]: () => Deno.removeSync(dir, { recursive: true }),
  };
}

/**
 * Every path of a root, but what apt, dpkg, logs, caches and homes change
 * anyway, and depmod's indexes (modules.dep…), which DKMS regenerates and a
 * real system always has.
 */
function snapshot(dir: string): string[] {
  const skip =
    /^\/(proc|dev|sys|tmp|run|root|home|var\/(lib\/(dpkg|apt)|cache|log))(\/|$)/;
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const e of Deno.readDirSync(`${dir}${rel}`)) {
      const path = `${rel}/${e.name}`;
      if (
        skip.test(path) || /^\/usr\/lib\/modules\/[^/]+\/modules\./.test(path)
      ) {
        continue;
      }
      out.push(path);
      if (e.isDirectory) walk(path);
    }
  };
  walk("");
  return out.sort();
}

const missing = Deno.env.get("PMEMCTL_VM") === "skip" && !inCI
  ? "PMEMCTL_VM=skip (the package tests need debootstrap roots and guests)"
  : Deno.uid() !== 0
  ? "needs root (debootstrap, chroot)"
  : !have("debootstrap", ["--version"])
  ? "no debootstrap (apt-get install debootstrap)"
  : !have("lintian", ["--version"])
  ? "no lintian (apt-get install lintian)"
  : undefined;

requireThat(
  missing,
  "deb: one version in deno.json, pmemctl --version, the module, dkms.conf and both packages",
  async () => {
    const { pmemctl, dkms } = await debs();
    const c = Deno.readTextFileSync(`${ROOT}kmod/pmem_legacy.c`);
    assert.equal(c.match(/MODULE_VERSION\("([^"]+)"\)/)?.[1], VERSION);
    const conf = Deno.readTextFileSync(`${ROOT}kmod/dkms.conf`);
    assert.equal(conf.match(/^PACKAGE_VERSION="([^"]+)"/m)?.[1], VERSION);
    for (const deb of [pmemctl, dkms]) {
      assert.equal(must("dpkg-deb", ["-f", deb, "Version"]).trim(), VERSION);
    }
    assert.ok(pmemctl.endsWith(`/pmemctl_${VERSION}_amd64.deb`), pmemctl);
    assert.ok(dkms.endsWith(`/pmem-legacy-dkms_${VERSION}_all.deb`), dkms);
  },
);

requireThat(
  missing,
  "deb: lintian finds no error and no warning in either package",
  async () => {
    const { pmemctl, dkms } = await debs();
    const r = sh("lintian", ["--tag-display-limit", "0", pmemctl, dkms]);
    const tags = r.out.split("\n").filter((l) => /^[EW]: /.test(l));
    assert.deepEqual(tags, [], r.out);
  },
);

for (const suite of ["bookworm", "trixie"]) {
  requireThat(
    missing,
    `deb: pmemctl installs in a clean ${suite} root from nothing but the package, works, and leaves nothing when purged`,
    async () => {
      const { pmemctl } = await debs();
      using root = rootCopy("clean", suite);
      Deno.copyFileSync(pmemctl, `${root.dir}/tmp/pmemctl.deb`);
      must("cp", ["-a", `${FIX}legacy`, `${root.dir}/tmp/legacy`]);
      const before = snapshot(root.dir);
      const install = root.install("/tmp/pmemctl.deb");
      assert.match(
        install,
        /^The following NEW packages will be installed:\n {2}pmemctl\n/m,
      );
      assert.match(install, /^0 upgraded, 1 newly installed/m);
      assert.equal(root.must("pmemctl", "--version").trim(), VERSION);
      const list = JSON.parse(
        root.must("pmemctl", "list", "--root", "/tmp/legacy", "--json"),
      );
      assert.equal(list.regions[0].namespaces[0].blockdev, "pmem0");
      assert.match(root.must("pmemctl", "completions", "bash"), /complete -F/);
      // verify --jobs starts a worker thread from its own bundle.
      root.must("truncate", "-s", "64M", "/tmp/verify-target");
      const jobs = JSON.parse(
        root.must(
          "pmemctl",
          "verify",
          "/tmp/verify-target",
          "--mode",
          "destructive",
          "--force",
          "--jobs",
          "2",
          "--json",
        ),
      );
      assert.deepEqual([jobs.jobs, jobs.result], [2, "pass"]);
      // So does map --jobs, from its own.
      const zeroed = JSON.parse(
        root.must(
          "pmemctl",
          "map",
          "zero",
          "/tmp/verify-target",
          "--force",
          "--jobs",
          "2",
          "--json",
        ),
      );
      assert.deepEqual([zeroed.jobs, zeroed.bytes], [2, 64 * 2 ** 20]);
      root.must("rm", "/tmp/verify-target");
      // The completions, the man page and the kmod source are where they belong.
      for (
        const f of [
          "usr/share/bash-completion/completions/pmemctl",
          "usr/share/zsh/vendor-completions/_pmemctl",
          "usr/share/fish/vendor_completions.d/pmemctl.fish",
          "usr/share/man/man1/pmemctl.1.gz",
          "usr/share/doc/pmemctl/copyright",
        ]
      ) {
        Deno.statSync(`${root.dir}/${f}`);
      }
      root.must("pmemctl", "kmod", "source", "/tmp/src");
      assert.equal(
        Deno.readTextFileSync(`${root.dir}/tmp/src/pmem_legacy.c`),
        Deno.readTextFileSync(`${ROOT}kmod/pmem_legacy.c`),
      );

      root.must("apt-get", "remove", "--purge", "-y", "pmemctl");
      assert.notEqual(root.run("dpkg", "-L", "pmemctl").code, 0);
      assert.deepEqual(snapshot(root.dir), before, "nothing left behind");
    },
  );
}

for (const suite of ["bookworm", "trixie"]) {
  requireThat(
    missing,
    `deb: the package's systemd units pass systemd-analyze verify in a ${suite} root with systemd, and are installed disabled`,
    async () => {
      const { pmemctl } = await debs();
      using root = rootCopy("systemd", suite);
      Deno.copyFileSync(pmemctl, `${root.dir}/tmp/pmemctl.deb`);
      root.install("/tmp/pmemctl.deb");
      const units = SYSTEMD_UNITS.map((u) => u.replace("@.", "@dev-pmem0."));
      // With man-db there: Documentation=man:pmemctl(1) is checked too.
      const r = root.run("systemd-analyze", "verify", ...units);
      assert.equal(r.code, 0, r.out);
      assert.equal(r.out.trim(), "", r.out);
      for (const u of units.filter((u) => u.endsWith(".timer"))) {
        const enabled = root.run("systemctl", "is-enabled", u);
        assert.equal(enabled.out.trim(), "disabled", `${u}: ${enabled.out}`);
      }
    },
  );
}

for (const [suite, series] of [["bookworm", "6.1"], ["trixie", "6.12t"]]) {
  requireThat(
    missing ?? vmUnavailable(series),
    `deb: pmem-legacy-dkms in ${suite} builds for ${series}'s headers, loads in a ${series} guest and claims memmap=, and is gone when purged`,
    async () => {
      const { dkms } = await debs();
      const kver = resolveKernel(series).version;
      using root = rootCopy("dkms", suite, kver);
      Deno.copyFileSync(dkms, `${root.dir}/tmp/dkms.deb`);
      const before = snapshot(root.dir);
      root.install("/tmp/dkms.deb");
      const status = root.must("dkms", "status");
      assert.match(
        status,
        new RegExp(
          `^pmem-legacy/${VERSION}, ${
            kver.replace(/[+.]/g, "\\$&")
          }, x86_64: installed`,
          "m",
        ),
      );
      const dir = `${root.dir}/lib/modules/${kver}/updates/dkms`;
      const name = [...Deno.readDirSync(dir)].map((e) => e.name).find((n) =>
        n.startsWith("pmem_legacy.ko")
      );
      assert.ok(name, `no pmem_legacy.ko* in ${dir}`);
      const packed = Deno.readFileSync(`${dir}/${name}`);
      const ko = name.endsWith(".xz")
        ? new Deno.Command("xz", {
          args: ["-dc", `${dir}/${name}`],
          stdout: "piped",
        }).outputSync().stdout
        : name.endsWith(".zst")
        ? new Deno.Command("zstd", {
          args: ["-dc", `${dir}/${name}`],
          stdout: "piped",
        }).outputSync().stdout
        : packed;

      const guest = await runVm({
        config: "legacy",
        kernel: series,
        modules: COMMON_MODULES, // no nd_e820: the range is pmem_legacy's
        waitFor: [],
        files: { "/root/pmem_legacy.ko": ko },
        script: `set -e
insmod /root/pmem_legacy.ko
echo "@@version $(cat /sys/module/pmem_legacy/version)"
echo "@@size $(cat /sys/block/pmemlegacy0/size)"
grep -A1 'Persistent Memory (legacy)' /proc/iomem | sed 's/^ */@@iomem /'
`,
      });
      assertGuestOk(guest);
      assert.match(
        guest.stdout,
        new RegExp(`^@@version ${VERSION.replace(/\./g, "\\.")}$`, "m"),
      );
      assert.match(
        guest.stdout,
        new RegExp(`^@@size ${256 * 2 ** 20 / 512}$`, "m"),
      );
      assert.match(guest.stdout, /^@@iomem 40000000-4fffffff : pmem_legacy/m);

      // DKMS's hook builds it for headers installed later: take the headers'
      // link away, purge and reinstall, then give it back as apt would.
      root.must("apt-get", "remove", "--purge", "-y", "pmem-legacy-dkms");
      assert.equal(root.must("dkms", "status").trim(), "");
      assert.deepEqual(snapshot(root.dir), before, "nothing left behind");
      const build = `${root.dir}/lib/modules/${kver}/build`;
      const link = Deno.readLinkSync(build);
      Deno.removeSync(build);
      root.install("/tmp/dkms.deb");
      assert.doesNotMatch(root.must("dkms", "status"), /installed/);
      Deno.symlinkSync(link, build);
      root.must("/etc/kernel/header_postinst.d/dkms", kver);
      assert.match(
        root.must("dkms", "status"),
        new RegExp(
          `^pmem-legacy/${VERSION}, ${
            kver.replace(/[+.]/g, "\\$&")
          }, x86_64: installed`,
          "m",
        ),
      );
    },
  );
}
