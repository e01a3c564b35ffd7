/**
 * The scripts under tools/ fail as pmemctl does, with one line and an exit
 * code, never a stack trace; `deno task deb` builds in a fresh clone whose
 * Deno came from npm anywhere but .tools/.
 */
import assert from "node:assert/strict";

const ROOT = new URL("../", import.meta.url).pathname;

async function run(
  deno: string,
  args: string[],
  opts: { cwd?: string; env?: Record<string, string> } = {},
) {
  const out = await new Deno.Command(deno, {
    args,
    cwd: opts.cwd ?? ROOT,
    env: { NO_COLOR: "1", ...opts.env },
    stdin: "null",
  }).output();
  return {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
}

/** Exactly one line, `NAME: …`. */
function oneLine(stderr: string, name: string): void {
  const lines = stderr.split("\n").filter(Boolean);
  assert.equal(lines.length, 1, stderr);
  assert.ok(lines[0].startsWith(`${name}: `), stderr);
}

Deno.test("tools/ scripts: usage errors and missing programs are one line, exit 2 or 3", async () => {
  const deno = Deno.execPath();
  const usage = await run(deno, ["run", "-A", "tools/deb.ts", "--out"]);
  assert.equal(usage.code, 2, usage.stderr);
  oneLine(usage.stderr, "deb");
  const extra = await run(deno, ["run", "-A", "tools/deb.ts", "surplus"]);
  assert.equal(extra.code, 2, extra.stderr);
  oneLine(extra.stderr, "deb");
  const bundle = await run(deno, ["run", "-A", "tools/bundle.ts"]);
  assert.equal(bundle.code, 2, bundle.stderr);
  oneLine(bundle.stderr, "bundle");

  // wat2wasm nowhere on PATH.
  const empty = Deno.makeTempDirSync({ prefix: "pmemctl-path-" });
  try {
    const wasm = await run(deno, ["run", "-A", "tools/wasm.ts"], {
      env: { PATH: empty },
    });
    assert.equal(wasm.code, 3, wasm.stderr);
    oneLine(wasm.stderr, "wasm");
    assert.match(
      wasm.stderr,
      /wat2wasm: not installed \(apt-get install wabt\)/,
    );
    const file = `${empty}/file`;
    Deno.writeTextFileSync(file, "");
    const out = await run(deno, [
      "run",
      "-A",
      "tools/deb.ts",
      "--out",
      `${file}/dist`,
    ]);
    assert.equal(out.code, 3, out.stderr);
    oneLine(out.stderr, "deb");
  } finally {
    Deno.removeSync(empty, { recursive: true });
  }
});

Deno.test("deno task deb in a fresh clone: no .tools/, Deno from npm elsewhere builds; a Deno of unknown origin is one line", async () => {
  const tmp = Deno.makeTempDirSync({ prefix: "pmemctl-fresh-deb-" });
  try {
    // The tree as a clone has it: tracked and new files, nothing ignored.
    const files = new TextDecoder().decode(
      new Deno.Command("git", {
        args: ["ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd: ROOT,
      }).outputSync().stdout,
    ).split("\0").filter((f) => f && !f.startsWith(".tools/"));
    const clone = `${tmp}/clone`;
    Deno.mkdirSync(clone);
    for (const f of files) {
      try {
        Deno.mkdirSync(`${clone}/${f.slice(0, f.lastIndexOf("/"))}`, {
          recursive: true,
        });
        Deno.copyFileSync(`${ROOT}${f}`, `${clone}/${f}`);
      } catch { /* deleted in the work tree */ }
    }
    const place = (path: string) => {
      Deno.mkdirSync(path.slice(0, path.lastIndexOf("/")), { recursive: true });
      try {
        Deno.linkSync(Deno.realPathSync(Deno.execPath()), path);
      } catch {
        Deno.copyFileSync(Deno.realPathSync(Deno.execPath()), path);
      }
      Deno.chmodSync(path, 0o755);
      return path;
    };

    const stray = place(`${tmp}/opt/bin/deno`);
    const lost = await run(stray, ["task", "deb", "--out", `${tmp}/dist1`], {
      cwd: clone,
    });
    assert.equal(lost.code, 3, lost.stderr);
    assert.match(
      lost.stderr,
      /^deb: Deno's license text: .*tools\/setup\.sh\)\n$/m,
    );
    assert.doesNotMatch(lost.stderr, /^\s+at /m, "no stack trace");

    // npm i -g deno: the binary in @deno/…, the license in deno/.
    const npm = `${tmp}/lib/node_modules`;
    const fromNpm = place(`${npm}/@deno/linux-x64-glibc/deno`);
    Deno.mkdirSync(`${npm}/deno`, { recursive: true });
    Deno.writeTextFileSync(
      `${npm}/deno/LICENSE`,
      "MIT License\n\nCopyright the Deno authors\n",
    );
    const built = await run(fromNpm, ["task", "deb", "--out", `${tmp}/dist2`], {
      cwd: clone,
    });
    assert.equal(built.code, 0, built.stderr);
    const debs = [...Deno.readDirSync(`${tmp}/dist2`)].map((e) => e.name)
      .sort();
    assert.equal(debs.length, 2, debs.join(" "));
    assert.match(debs[0], /^pmem-legacy-dkms_.*_all\.deb$/);
    assert.match(debs[1], /^pmemctl_.*_amd64\.deb$/);
  } finally {
    Deno.removeSync(tmp, { recursive: true });
  }
});

Deno.test("the .deb's bundle: the module graph Deno builds at start holds no chunk of a lazily loaded module, and list runs", async () => {
  const { LAZY_MODULES } = await import("../src/cli/lazy_modules.ts");
  const dir = Deno.makeTempDirSync({ prefix: "pmemctl-bundle-graph-" });
  try {
    const deno = Deno.execPath();
    const built = await run(deno, ["run", "-A", "tools/bundle.ts", dir]);
    assert.equal(built.code, 0, built.stderr);
    const info = await run(deno, [
      "info",
      "--no-config",
      "--json",
      `${dir}/pmemctl.js`,
    ]);
    assert.equal(info.code, 0, info.stderr);
    const files = (JSON.parse(info.stdout).modules as { specifier: string }[])
      .map((m) => m.specifier.split("/").at(-1)!);
    // A lazy module's chunk is named after it: map.ts → map-XXXXXXXX.js.
    const stems = LAZY_MODULES.map((m) => m.split("/").at(-1)!.slice(0, -3));
    const lazyChunks = files.filter((f) =>
      stems.some((s) => new RegExp(`^${s}-[A-Z0-9]{8}\\.js$`).test(f))
    );
    assert.deepEqual(lazyChunks, [], files.join(" "));
    assert.ok(files.includes("pmemctl.js"), files.join(" "));

    // And the chunks still load when their command runs.
    const pmemctl = (...args: string[]) =>
      run(deno, ["run", "-A", "--no-config", `${dir}/pmemctl.js`, ...args]);
    const tree = Deno.makeTempDirSync({ dir });
    const list = await pmemctl(
      "list",
      "--json",
      "--root",
      tree,
      "--dmesg",
      "/dev/null",
      "--cmdline",
      "/dev/null",
    );
    assert.equal(list.code, 0, list.stderr);
    assert.deepEqual(JSON.parse(list.stdout).regions, []);
    const file = `${dir}/file`;
    Deno.writeFileSync(file, new Uint8Array(4096));
    const verify = await pmemctl("verify", file);
    assert.equal(verify.code, 0, verify.stderr);
    assert.match(verify.stdout, /^pass: scan of /);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
