/**
 * `pmemctl map --jobs N` on files in /dev/shm: threads move exactly the
 * bytes one thread moves, streams and appending outputs stay on one thread,
 * and a signal leaves a written prefix and nothing past it. Devices and
 * DAX are tested in the guests (vm_map_test.ts).
 */
import assert from "node:assert/strict";
import {
  interruptWithin1s,
  pmemctl,
  sha256File,
  shmFile,
  spawn,
} from "./helpers.ts";

const MiB = 2 ** 20;

/** `cmp` of `n` bytes of two files from offsets `a` and `b`: whether they are equal. */
async function same(
  x: string,
  a: number,
  y: string,
  b: number,
  n: number,
): Promise<boolean> {
  const out = await new Deno.Command("cmp", {
    args: ["-s", "-n", String(n), "-i", `${a}:${b}`, x, y],
  }).output();
  return out.code === 0;
}

Deno.test("map write, read and zero --jobs: threads move exactly what one thread moves, at unaligned offsets", async () => {
  const target = shmFile(80 * MiB, true);
  const input = shmFile(40 * MiB + 12345, true);
  const copy = shmFile(0);
  const out = shmFile(0);
  try {
    const before = Deno.makeTempFileSync({ dir: "/dev/shm" });
    Deno.copyFileSync(target, before);
    const w = await pmemctl(
      "map",
      "write",
      target,
      "--offset",
      "1000",
      "--input",
      input,
      "--jobs",
      "3",
      "--json",
    );
    assert.equal(w.code, 0, w.stderr);
    const wrote = JSON.parse(w.stdout);
    assert.deepEqual(
      [
        wrote.op,
        wrote.offset,
        wrote.bytes,
        wrote.jobs,
        wrote.io,
        wrote.durable,
      ],
      ["write", 1000, 40 * MiB + 12345, 3, "pwrite", true],
    );
    const n = 40 * MiB + 12345;
    assert.ok(await same(target, 1000, input, 0, n), "the written range");
    assert.ok(await same(target, 0, before, 0, 1000), "before the range");
    assert.ok(
      await same(target, 1000 + n, before, 1000 + n, 80 * MiB - 1000 - n),
      "after the range",
    );
    Deno.removeSync(before);

    const r = await pmemctl(
      "map",
      "read",
      target,
      "--offset",
      "777",
      "--length",
      String(50 * MiB + 1),
      "--output",
      out,
      "--jobs",
      "2",
      "--json",
    );
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(
      (({ op, bytes, jobs }) => [op, bytes, jobs])(JSON.parse(r.stdout)),
      ["read", 50 * MiB + 1, 2],
    );
    assert.equal(Deno.statSync(out).size, 50 * MiB + 1);
    assert.ok(await same(out, 0, target, 777, 50 * MiB + 1), "read back");

    Deno.copyFileSync(target, copy);
    const z = await pmemctl(
      "map",
      "zero",
      target,
      "--offset",
      String(5 * MiB + 3),
      "--length",
      String(33 * MiB),
      "--force",
      "--jobs",
      "2",
      "--json",
    );
    assert.equal(z.code, 0, z.stderr);
    assert.deepEqual(
      (({ op, bytes, jobs }) => [op, bytes, jobs])(JSON.parse(z.stdout)),
      ["zero", 33 * MiB, 2],
    );
    assert.ok(await same(target, 5 * MiB + 3, "/dev/zero", 0, 33 * MiB));
    assert.ok(await same(target, 0, copy, 0, 5 * MiB + 3));
    assert.ok(
      await same(target, 38 * MiB + 3, copy, 38 * MiB + 3, 42 * MiB - 3),
    );
  } finally {
    for (const f of [target, input, copy, out]) Deno.removeSync(f);
  }
});

Deno.test("map --jobs: a pipe in, a pipe out and an appending output stay on one thread and keep their order", async () => {
  const target = shmFile(48 * MiB, true);
  const appended = shmFile(0);
  try {
    Deno.writeTextFileSync(appended, "head\n");
    const sh = (script: string) =>
      new Deno.Command("sh", {
        args: ["-c", script],
        env: { T: target, A: appended, DENO: Deno.execPath() },
      }).output();
    const cli = new URL("../cli.ts", import.meta.url).pathname;
    const p = `"$DENO" run -A --no-config ${cli}`;
    const rd = await sh(`${p} map read "$T" --jobs 4 >> "$A"`);
    assert.equal(rd.code, 0, new TextDecoder().decode(rd.stderr));
    assert.equal(Deno.statSync(appended).size, 5 + 48 * MiB);
    assert.ok(await same(appended, 5, target, 0, 48 * MiB), "appended");

    const piped = await sh(
      `${p} map read "$T" --jobs 4 | sha256sum | cut -d' ' -f1`,
    );
    assert.equal(
      new TextDecoder().decode(piped.stdout).trim(),
      await sha256File(target),
    );
    // Back in through a pipe, reversed halves: order is the pipe's.
    const wr = await sh(
      `tail -c ${24 * MiB} "$A" | cat - "$A" | head -c ${
        48 * MiB
      } | ${p} map write "$T" --jobs 4 --json`,
    );
    assert.equal(wr.code, 0, new TextDecoder().decode(wr.stderr));
    assert.equal(JSON.parse(new TextDecoder().decode(wr.stdout)).jobs, 1);
    assert.ok(await same(target, 0, appended, 5 + 24 * MiB, 24 * MiB));
    assert.ok(await same(target, 24 * MiB, appended, 0, 24 * MiB));
  } finally {
    Deno.removeSync(target);
    Deno.removeSync(appended);
  }
});

/**
 * Starts `map write --jobs 2` of `size` bytes of 0xff (so a byte written
 * shows against the target's zeros) and returns once its first byte is in
 * the target (blocks are reserved before it).
 */
async function writingOnes(size: number) {
  const target = shmFile(size);
  const input = shmFile(0);
  await new Deno.Command("sh", {
    args: ["-c", `tr '\\0' '\\377' < /dev/zero | head -c ${size} > ${input}`],
  }).output();
  const child = spawn("map", "write", target, "--input", input, "--jobs", "2");
  const first = new Uint8Array(1);
  using f = Deno.openSync(target);
  for (let waited = 0; first[0] !== 0xff && waited < 30000; waited += 2) {
    await new Promise((r) => setTimeout(r, 2));
    f.seekSync(0, Deno.SeekMode.Start);
    f.readSync(first);
  }
  return { target, input, child };
}

Deno.test("map write --jobs 2 stopped by SIGINT: within a second, exit 3, the bytes it reports are written and nothing after them", async () => {
  const size = 3072 * MiB;
  const { target, input, child } = await writingOnes(size);
  try {
    const { stderr } = await interruptWithin1s(child);
    const m = stderr.match(/stopped after (\d+) bytes, written at offset 0/);
    assert.ok(m, stderr);
    const n = Number(m[1]);
    assert.ok(n > 0 && n < size, `stopped after ${n} of ${size}`);
    assert.ok(await same(target, 0, input, 0, n), "the prefix it reports");
    assert.ok(
      await same(target, n, "/dev/zero", 0, size - n),
      "nothing after the prefix",
    );
  } finally {
    Deno.removeSync(target);
    Deno.removeSync(input);
  }
});

Deno.test("map --jobs: a bad count is a usage error naming it, before any file is touched; read --json needs --output", async () => {
  const target = shmFile(MiB, true);
  const out = shmFile(0);
  try {
    Deno.writeTextFileSync(out, "keep");
    for (const bad of ["0", "17", "x"]) {
      const z = await pmemctl("map", "zero", target, "--force", "--jobs", bad);
      assert.equal(z.code, 2, z.stderr);
      assert.match(z.stderr, new RegExp(`--jobs: '${bad}': not a number`));
      const r = await pmemctl(
        "map",
        "read",
        target,
        "--output",
        out,
        "--jobs",
        bad,
      );
      assert.equal(r.code, 2, r.stderr);
    }
    assert.equal(Deno.readTextFileSync(out), "keep");
    assert.equal(
      new Uint8Array(Deno.readFileSync(target)).every((b) => b === 0),
      false,
    );
    const j = await pmemctl("map", "read", target, "--json");
    assert.equal(j.code, 2);
    assert.match(
      j.stderr,
      /map read --json: stdout carries the bytes: pass --output FILE/,
    );
  } finally {
    Deno.removeSync(target);
    Deno.removeSync(out);
  }
});

Deno.test("map write --jobs 2 from an input that shrinks mid-copy: exit 3, and the bytes it says were written are", async () => {
  const size = 2048 * MiB;
  const { target, input, child } = await writingOnes(size);
  try {
    Deno.truncateSync(input, size / 2);
    const out = await child.output();
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 3, stderr);
    const m = stderr.match(
      /shrank while being copied.*; the first (\d+) bytes from offset 0 were written and made durable/,
    );
    assert.ok(m, stderr);
    const n = Number(m[1]);
    assert.ok(n <= size / 2, `${n} bytes past the input's new end`);
    assert.ok(await same(target, 0, input, 0, n), "the prefix it reports");
  } finally {
    Deno.removeSync(target);
    Deno.removeSync(input);
  }
});
