/**
 * Builds the two Debian packages from this checkout (`deno task deb`):
 *
 * - `pmemctl_VER_amd64.deb`: the program as one unit. Where a denort runtime
 *   exists (`DENORT_BIN`), a `deno compile` binary; otherwise Deno's own
 *   binary with the program bundled into one file (`deno bundle`), so nothing
 *   is fetched at run time. Completions where bash-completion, zsh and fish
 *   look for vendor files, the man page, the README and a copyright file.
 * - `pmem-legacy-dkms_VER_all.deb`: the module's source under
 *   /usr/src/pmem-legacy-VER/ with its dkms.conf; installing it builds and
 *   installs the module for every kernel with headers (and DKMS's kernel hook
 *   for each kernel installed later); removing it removes the module.
 *
 * One version, deno.json's, in both. usage: deno run -A tools/deb.ts [--out DIR]
 *
 * @module
 */

import { fromSpec, renderCompletions } from "../src/cli/completions.ts";
import { renderMan } from "../src/cli/man.ts";
import { commandTree, MAN_DATE } from "../src/cli/tree.ts";
import { KMOD_FILES } from "../src/kmod/kmod.ts";
import { VERSION } from "../src/version.ts";
import { bundle, sh } from "./bundle.ts";
import { compileArgs } from "./compile.ts";
import { ToolError, toolMain, ToolUsage } from "./main.ts";

const ROOT = new URL("../", import.meta.url).pathname;

const MAINTAINER = Deno.env.get("DEBFULLNAME") && Deno.env.get("DEBEMAIL")
  ? `${Deno.env.get("DEBFULLNAME")} <${Deno.env.get("DEBEMAIL")}>`
  : "pmemctl developers <pmemctl@example.net>";
/** The changelog's one entry, and every file's time (reproducible builds). */
const DATE = "Thu, 26 Nov 2026 00:00:00 +0000";
const EPOCH = Date.parse("2026-11-26T00:00:00Z") / 1000;

/** Where the bundled program lives in the package. */
const JS = "/usr/lib/pmemctl/js";

function put(
  stage: string,
  path: string,
  data: string | Uint8Array,
  mode = 0o644,
): void {
  const full = `${stage}${path}`;
  Deno.mkdirSync(full.slice(0, full.lastIndexOf("/")), { recursive: true });
  Deno.writeFileSync(
    full,
    typeof data === "string" ? new TextEncoder().encode(data) : data,
  );
  Deno.chmodSync(full, mode);
}

/** gzip -9n: no name or time in the header, as Debian wants. */
function gzipSync(data: string): Uint8Array {
  const tmp = Deno.makeTempFileSync();
  try {
    Deno.writeTextFileSync(tmp, data);
    const out = new Deno.Command("gzip", { args: ["-9nc", tmp] })
      .outputSync();
    if (!out.success) throw new Error("gzip failed");
    return out.stdout;
  } finally {
    Deno.removeSync(tmp);
  }
}

function changelog(pkg: string): Uint8Array {
  return gzipSync(
    `${pkg} (${VERSION}) unstable; urgency=medium\n\n` +
      `  * Built from the pmemctl checkout by tools/deb.ts.\n\n` +
      ` -- ${MAINTAINER}  ${DATE}\n`,
  );
}

function walk(dir: string, prefix = ""): string[] {
  const out: string[] = [];
  for (const e of Deno.readDirSync(`${dir}${prefix}`)) {
    const rel = `${prefix}/${e.name}`;
    if (rel === "/DEBIAN") continue;
    if (e.isDirectory) out.push(...walk(dir, rel));
    else if (e.isFile) out.push(rel);
  }
  return out.sort();
}

function md5sums(stage: string): string {
  const lines: string[] = [];
  for (const f of walk(stage)) {
    const out = new Deno.Command("md5sum", { args: [`${stage}${f}`] })
      .outputSync();
    const sum = new TextDecoder().decode(out.stdout).split(" ")[0];
    lines.push(`${sum}  ${f.slice(1)}`);
  }
  return lines.join("\n") + "\n";
}

function installedSize(stage: string): number {
  let bytes = 0;
  for (const f of walk(stage)) bytes += Deno.statSync(`${stage}${f}`).size;
  return Math.ceil(bytes / 1024);
}

function finish(
  stage: string,
  control: Record<string, string>,
  out: string,
): string {
  const fields = Object.entries({
    ...control,
    "Installed-Size": String(installedSize(stage)),
  }).map(([k, v]) => `${k}: ${v}`);
  put(stage, "/DEBIAN/control", fields.join("\n") + "\n");
  // The package's root is "/" when installed: 0755, never mkdtemp's 0700.
  Deno.chmodSync(stage, 0o755);
  put(stage, "/DEBIAN/md5sums", md5sums(stage));
  const name = `${control.Package}_${VERSION}_${control.Architecture}.deb`;
  sh("find", [stage, "-exec", "touch", "-h", "-d", `@${EPOCH}`, "{}", "+"]);
  sh("dpkg-deb", [
    "--root-owner-group",
    "-Zxz",
    "-z6",
    "--build",
    stage,
    `${out}/${name}`,
  ], { SOURCE_DATE_EPOCH: String(EPOCH) });
  return `${out}/${name}`;
}

/**
 * Deno's license text, from the npm package `deno` that brought the running
 * binary: .tools/ (tools/setup.sh), or the package around `Deno.execPath()`
 * wherever npm put it (`node_modules/deno/LICENSE` beside
 * `node_modules/@deno/linux-x64-glibc/deno`, or above it).
 */
export function denoLicense(
  exec = Deno.execPath(),
  tools = `${ROOT}.tools`,
): string {
  const tried = [`${tools}/node_modules/deno/LICENSE`];
  let dir = Deno.realPathSync(exec);
  while ((dir = dir.slice(0, dir.lastIndexOf("/"))) !== "") {
    tried.push(`${dir}/node_modules/deno/LICENSE`);
    if (dir.endsWith("/deno")) tried.push(`${dir}/LICENSE`);
  }
  for (const path of tried) {
    try {
      return Deno.readTextFileSync(path);
    } catch { /* the next place */ }
  }
  throw new ToolError(
    `Deno's license text: no LICENSE of the npm package deno in .tools/ or around ${exec} (run bash tools/setup.sh)`,
  );
}

function copyright(withDeno: boolean): string {
  const indent = (text: string) =>
    text.trimEnd().split("\n").map((l) => (l.trim() ? ` ${l}` : " .")).join(
      "\n",
    );
  const parts = [
    "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/",
    "Upstream-Name: pmemctl",
    "Comment: pmemctl's own code has no license chosen yet; the kernel module",
    " is GPL-2.0, as its SPDX line says.",
    "",
    "Files: *",
    "Copyright: 2026 the pmemctl developers",
    "License: none-yet",
    " No license has been chosen for pmemctl's own code yet: all rights",
    " reserved by its developers until one is.",
    "",
    "Files: usr/src/pmem-legacy-*/*",
    "Copyright: 2026 the pmemctl developers",
    "License: GPL-2",
    " This program is free software; you can redistribute it and/or modify it",
    " under the terms of the GNU General Public License version 2.",
    " .",
    " On Debian systems, the complete text of the GNU General Public License",
    " version 2 can be found in /usr/share/common-licenses/GPL-2.",
  ];
  if (withDeno) {
    parts.push(
      "",
      "Files: usr/lib/pmemctl/deno",
      "Copyright: 2018-2026 the Deno authors",
      "License: MIT",
      indent(denoLicense().replace(/^MIT License\s*\n/, "")),
    );
  }
  return parts.join("\n") + "\n";
}

const DESCRIPTION_PMEMCTL = `find, map and verify Linux persistent memory
 pmemctl lists every persistent-memory range (e820 type 12 and 7, memmap=,
 libnvdimm regions and namespaces, device-DAX, DAX mounts), plans memmap=
 parameters from the machine's own e820 table, says why pmem is missing or
 not DAX (doctor), moves bytes in and out of it, proves a range keeps its
 data across power cycles, and exports all of it to Prometheus, Ansible and
 Kubernetes node labels.`;

/** The systemd units the package ships (systemd/), none enabled. */
export const SYSTEMD_UNITS = [
  "pmemctl-export.service",
  "pmemctl-export.timer",
  "pmemctl-verify@.service",
  "pmemctl-verify@.timer",
];

const DESCRIPTION_DKMS =
  `pmem_legacy kernel module for e820 type-12 persistent memory (DKMS)
 pmem_legacy gives block devices (with DAX) over e820 type-12 ("legacy")
 persistent-memory ranges, such as those memmap=SIZE!START makes, for
 kernels without nd_e820 or where a range should go to a simpler driver.
 .
 This package builds the module with DKMS for every installed kernel that
 has its headers, and again for each kernel installed later.`;

function buildPmemctl(out: string): string {
  const stage = Deno.makeTempDirSync({ prefix: "pmemctl-deb-" });
  try {
    const denort = Deno.env.get("DENORT_BIN");
    if (denort) {
      Deno.mkdirSync(`${stage}/usr/bin`, { recursive: true });
      sh(
        Deno.execPath(),
        compileArgs(`${stage}/usr/bin/pmemctl`, ROOT, ["--no-config"]),
      );
    } else {
      put(
        stage,
        "/usr/lib/pmemctl/deno",
        Deno.readFileSync(Deno.realPathSync(Deno.execPath())),
        0o755,
      );
      bundle(`${stage}${JS}`);
      // What lintian cannot be argued out of, with the reason (README: Packages).
      put(
        stage,
        "/usr/share/lintian/overrides/pmemctl",
        `# Deno's runtime binary, as its project builds it: lcms2 is compiled into it
# and it is linked without RELRO; pmemctl ships it unchanged.
pmemctl: embedded-library lcms2 [usr/lib/pmemctl/deno]
pmemctl: hardening-no-relro [usr/lib/pmemctl/deno]
`,
      );
      for (const f of KMOD_FILES) {
        put(
          stage,
          `/usr/lib/pmemctl/kmod/${f}`,
          Deno.readFileSync(`${ROOT}kmod/${f}`),
        );
      }
      put(
        stage,
        "/usr/bin/pmemctl",
        `#!/bin/sh
# pmemctl ${VERSION}: the bundled program on the Deno runtime it ships with.
# Nothing is fetched at run time: no config, no imports outside the bundle.
${launchChecks()}
DENO_NO_UPDATE_CHECK=1 DENO_NO_PROMPT=1
export DENO_NO_UPDATE_CHECK DENO_NO_PROMPT
exec /usr/lib/pmemctl/deno run -A --no-config --quiet ${JS}/pmemctl.js "$@"
`,
        0o755,
      );
    }
    const tree = commandTree(VERSION);
    const spec = fromSpec(tree);
    put(
      stage,
      "/usr/share/bash-completion/completions/pmemctl",
      renderCompletions(spec, "bash"),
    );
    put(
      stage,
      "/usr/share/zsh/vendor-completions/_pmemctl",
      renderCompletions(spec, "zsh"),
    );
    put(
      stage,
      "/usr/share/fish/vendor_completions.d/pmemctl.fish",
      renderCompletions(spec, "fish"),
    );
    put(
      stage,
      "/usr/share/man/man1/pmemctl.1.gz",
      gzipSync(renderMan(tree, VERSION, MAN_DATE)),
    );
    // The export and verify timers, installed disabled (systemctl enable
    // turns one on: docs/packaging.md).
    for (const unit of SYSTEMD_UNITS) {
      put(
        stage,
        `/usr/lib/systemd/system/${unit}`,
        Deno.readTextFileSync(`${ROOT}systemd/${unit}`),
      );
    }
    put(
      stage,
      "/usr/share/doc/pmemctl/README.md.gz",
      gzipSync(Deno.readTextFileSync(`${ROOT}README.md`)),
    );
    put(stage, "/usr/share/doc/pmemctl/copyright", copyright(!denort));
    put(
      stage,
      "/usr/share/doc/pmemctl/changelog.gz",
      changelog("pmemctl"),
    );
    return finish(stage, {
      Package: "pmemctl",
      Version: VERSION,
      Architecture: "amd64",
      Maintainer: MAINTAINER,
      // Deno's runtime: glibc and libgcc_s, nothing else (ldd).
      Depends: "libc6 (>= 2.31), libgcc-s1",
      Recommends: "libpmem1",
      Suggests: "ndctl, daxctl, pmem-legacy-dkms",
      Section: "admin",
      Priority: "optional",
      Description: DESCRIPTION_PMEMCTL,
    }, out);
  } finally {
    Deno.removeSync(stage, { recursive: true });
  }
}

function buildDkms(out: string): string {
  const stage = Deno.makeTempDirSync({ prefix: "pmemctl-deb-" });
  try {
    const src = `/usr/src/pmem-legacy-${VERSION}`;
    for (const f of KMOD_FILES) {
      put(stage, `${src}/${f}`, Deno.readFileSync(`${ROOT}kmod/${f}`));
    }
    put(stage, "/usr/share/doc/pmem-legacy-dkms/copyright", copyright(false));
    put(
      stage,
      "/usr/share/doc/pmem-legacy-dkms/changelog.gz",
      changelog("pmem-legacy-dkms"),
    );
    const m = `-m pmem-legacy -v ${VERSION}`;
    put(
      stage,
      "/DEBIAN/postinst",
      `#!/bin/sh
# Adds pmem-legacy ${VERSION} to DKMS, then builds and installs it for every
# kernel whose headers are installed. DKMS's own kernel hook builds it for
# kernels installed later (AUTOINSTALL in dkms.conf).
set -e
if [ "$1" = configure ]; then
  if ! dkms status ${m} | grep -q .; then
    dkms add ${m}
  fi
  for dir in /lib/modules/*; do
    kernel=\${dir##*/}
    [ -e "$dir/build/Makefile" ] || continue
    if ! dkms install ${m} -k "$kernel"; then
      echo "pmem-legacy-dkms: building for $kernel failed; see /var/lib/dkms/pmem-legacy/${VERSION}/build/make.log" >&2
    fi
  done
fi
exit 0
`,
      0o755,
    );
    put(
      stage,
      "/DEBIAN/prerm",
      `#!/bin/sh
# Removes pmem-legacy ${VERSION} from DKMS and every kernel it was installed for.
set -e
case "$1" in
  remove|upgrade|deconfigure)
    if dkms status ${m} | grep -q .; then
      dkms remove ${m} --all || true
    fi
    ;;
esac
exit 0
`,
      0o755,
    );
    return finish(stage, {
      Package: "pmem-legacy-dkms",
      Version: VERSION,
      Architecture: "all",
      Maintainer: MAINTAINER,
      Depends: "dkms (>= 2.1.0.0)",
      Section: "kernel",
      Priority: "optional",
      Description: DESCRIPTION_DKMS,
    }, out);
  } finally {
    Deno.removeSync(stage, { recursive: true });
  }
}

/** bin/pmemctl's checks before Deno starts (deleted cwd, ulimit -v), for the package's launcher too. */
function launchChecks(): string {
  const text = Deno.readTextFileSync(`${ROOT}bin/pmemctl`);
  const m = text.match(/^# launch-checks:[^]*?^# launch-checks end$/m);
  if (!m) throw new Error("bin/pmemctl has no launch-checks block");
  return m[0];
}

if (import.meta.main) {
  await toolMain("deb", () => {
    const args = [...Deno.args];
    const at = args.indexOf("--out");
    const out = at >= 0 ? args.splice(at, 2)[1] : `${ROOT}dist`;
    if (!out || args.length > 0) {
      throw new ToolUsage("usage: deno run -A tools/deb.ts [--out DIR]");
    }
    try {
      Deno.mkdirSync(out, { recursive: true });
    } catch (e) {
      throw new ToolError(`${out}: ${(e as Error).message}`);
    }
    for (const deb of [buildPmemctl(out), buildDkms(out)]) {
      console.log(deb);
    }
  });
}

export { buildDkms, buildPmemctl };
