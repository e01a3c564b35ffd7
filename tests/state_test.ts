/**
 * `verify --record` and pmemctl's state file: results kept per target and
 * mode, written atomically, a corrupt file a warning; and the state file can
 * never be the target or the journal (nothing is run then).
 */
import assert from "node:assert/strict";
import { run } from "../cli.ts";
import { captureOutput } from "../src/cli/output.ts";
import { writeFileAtomic } from "../src/safety/atomic.ts";
import { readState } from "../src/state/results.ts";
import { sha256File, shmFile } from "./helpers.ts";

async function cli(...args: string[]) {
  const out = captureOutput();
  const code = await run(args, out);
  return { code, out: out.out, err: out.err };
}

Deno.test("verify --record keeps one result per target and mode", async () => {
  const dir = Deno.makeTempDirSync();
  const target = { path: shmFile(8 * 2 ** 20) };
  try {
    const state = `${dir}/sub/state.json`;
    assert.equal(
      (await cli("verify", target.path, "--record", "--state", state)).code,
      0,
    );
    assert.equal(
      (await cli(
        "verify",
        target.path,
        "--mode",
        "destructive",
        "--force",
        "--record",
        "--state",
        state,
      )).code,
      0,
    );
    const { state: s, warning } = readState(state);
    assert.equal(warning, undefined);
    const real = Deno.realPathSync(target.path);
    assert.deepEqual(Object.keys(s.verify).sort(), [
      `${real} destructive`,
      `${real} scan`,
    ]);
    assert.equal(s.verify[`${real} scan`].result, "pass");
    assert.equal(s.verify[`${real} destructive`].bytes_checked, 8 * 2 ** 20);
    assert.ok(Date.now() - Date.parse(s.verify[`${real} scan`].time) < 60_000);
    // No temporary file is left beside it.
    assert.deepEqual(
      [...Deno.readDirSync(`${dir}/sub`)].map((e) => e.name).sort(),
      ["state.json", "state.json.lock"],
    );
  } finally {
    Deno.removeSync(dir, { recursive: true });
    Deno.removeSync(target.path);
  }
});

Deno.test("a corrupt state file is a warning, and the next record replaces it", async () => {
  const dir = Deno.makeTempDirSync();
  const target = { path: shmFile(2 ** 20) };
  try {
    const state = `${dir}/state.json`;
    Deno.writeTextFileSync(state, '{"version":1,"verify":{"x":{"target":1}}}');
    const r = await cli("verify", target.path, "--record", "--state", state);
    assert.equal(r.code, 0);
    assert.match(
      r.err,
      /state\.json: pmemctl's state file is corrupt: recorded results ignored/,
    );
    assert.equal(readState(state).warning, undefined);
  } finally {
    Deno.removeSync(dir, { recursive: true });
    Deno.removeSync(target.path);
  }
});

Deno.test("--state can be neither the target nor the journal: exit 2, nothing run or written", async () => {
  const dir = Deno.makeTempDirSync();
  const target = { path: shmFile(4 * 2 ** 20, true) };
  try {
    const before = await sha256File(target.path);
    const self = await cli(
      "verify",
      target.path,
      "--mode",
      "destructive",
      "--force",
      "--record",
      "--state",
      target.path,
    );
    assert.equal(self.code, 2);
    assert.match(
      self.err,
      /--state .*: is the target .* itself: nothing was run/,
    );
    assert.equal(await sha256File(target.path), before);

    // A journal that does not exist yet, named two ways.
    const journal = `${dir}/j`;
    const cwd = Deno.cwd();
    Deno.chdir(dir);
    try {
      const same = await cli(
        "verify",
        target.path,
        "--mode",
        "rw",
        "--journal",
        journal,
        "--record",
        "--state",
        "j",
      );
      assert.equal(same.code, 2, same.err);
      assert.match(
        same.err,
        /--state j: is the journal .* itself: nothing was run/,
      );
    } finally {
      Deno.chdir(cwd);
    }
    assert.throws(() => Deno.statSync(journal), Deno.errors.NotFound);

    const dev = await cli(
      "verify",
      target.path,
      "--record",
      "--state",
      "/dev/null",
    );
    assert.equal(dev.code, 2);
    assert.match(dev.err, /--state \/dev\/null: is not a regular file/);
  } finally {
    Deno.removeSync(dir, { recursive: true });
    Deno.removeSync(target.path);
  }
});

Deno.test("--state over a symbolic link is refused before the run, the link kept; a link swapped in before the rename is refused too", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "pmemctl-state-link-" });
  const target = shmFile(1 << 20);
  try {
    Deno.writeTextFileSync(`${dir}/real`, "keep\n");
    Deno.symlinkSync(`${dir}/real`, `${dir}/link`);
    Deno.symlinkSync("/dev/stdout", `${dir}/out`);
    for (const name of ["link", "out"]) {
      const r = await cli(
        "verify",
        target,
        "--record",
        "--state",
        `${dir}/${name}`,
      );
      assert.equal(r.code, 2, r.err);
      assert.match(r.err, /is not a regular file \(a symbolic link\)/);
      assert.equal(r.out, "", "refused before the run");
      assert.ok(Deno.lstatSync(`${dir}/${name}`).isSymlink, name);
    }
    assert.equal(Deno.readTextFileSync(`${dir}/real`), "keep\n");
    // The one place that replaces files never renames over a link.
    assert.throws(
      () => writeFileAtomic(`${dir}/link`, "new\n"),
      /is not a regular file \(a symbolic link\)/,
    );
    assert.ok(Deno.lstatSync(`${dir}/link`).isSymlink);
    assert.deepEqual(
      [...Deno.readDirSync(dir)].map((e) => e.name).sort(),
      ["link", "out", "real"],
      "no temporary file left",
    );
  } finally {
    Deno.removeSync(dir, { recursive: true });
    Deno.removeSync(target);
  }
});
