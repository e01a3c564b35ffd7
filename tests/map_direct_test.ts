/**
 * Block devices move bytes with O_DIRECT (src/target/direct.ts): whole
 * sectors from aligned memory, with a bounce buffer and read-modify-write
 * for what is not aligned. Loop devices of 512- and 4096-byte sectors over
 * a tmpfs file stand in for /dev/pmemN here (the guests test /dev/pmem0):
 * every write at odd offsets changes exactly its range, reads return
 * exactly theirs, on one thread and on several.
 */
import assert from "node:assert/strict";
import { Target } from "../src/target/target.ts";
import { zeroRange } from "../src/map/transfer.ts";
import { pmemctl, shmFile } from "./helpers.ts";
import { have, requireThat } from "./require.ts";

const MiB = 2 ** 20;

const missing = Deno.uid() !== 0
  ? "needs root (losetup)"
  : !have("losetup", ["--version"])
  ? "needs losetup (util-linux)"
  : undefined;

/** A loop device over a fresh file of `size` random bytes, with `sector`-byte logical sectors. */
function loop(size: number, sector: number): { dev: string; file: string } {
  const file = shmFile(size, true, "pmemctl-loop-");
  const out = new Deno.Command("losetup", {
    args: ["--show", "-f", "--sector-size", String(sector), file],
  }).outputSync();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  return { dev: new TextDecoder().decode(out.stdout).trim(), file };
}

function detach(l: { dev: string; file: string }): void {
  new Deno.Command("losetup", { args: ["-d", l.dev] }).outputSync();
  Deno.removeSync(l.file);
}

/** The bytes `[at, at+n)` of a file. */
function slice(path: string, at: number, n: number): Uint8Array {
  using f = Deno.openSync(path);
  f.seekSync(at, Deno.SeekMode.Start);
  const out = new Uint8Array(n);
  for (let got = 0; got < n;) got += f.readSync(out.subarray(got))!;
  return out;
}

function sameBytes(a: Uint8Array, b: Uint8Array, what: string): void {
  assert.equal(a.length, b.length, `${what}: length`);
  const i = a.findIndex((x, j) => x !== b[j]);
  assert.equal(i, -1, `${what}: first difference at byte ${i}`);
}

for (const sector of [512, 4096]) {
  requireThat(
    missing,
    `map on a block device of ${sector}-byte sectors: O_DIRECT, odd offsets change exactly their range, one thread and two`,
    async () => {
      const l = loop(64 * MiB, sector);
      const input = shmFile(0);
      try {
        const info = await pmemctl("map", "info", l.dev, "--json");
        assert.equal(info.code, 0, info.stderr);
        assert.equal(JSON.parse(info.stdout).io, "o_direct");
        const cases: [number, number, string][] = [
          [3 * 4096 + 123, 1 * MiB + 777, "1"], // both edges inside a sector
          [sector * 5, 100, "1"], // inside the first sector only
          [sector * 9 - 1, 2, "1"], // across one sector boundary
          [2 * MiB, 4 * sector, "1"], // aligned: no bounce
          [7 * MiB + 1, 33 * MiB + sector - 3, "2"], // threads, odd edges
        ];
        for (const [at, n, jobs] of cases) {
          const data = crypto.getRandomValues(
            new Uint8Array(Math.min(n, 65536)),
          );
          const bytes = new Uint8Array(n);
          for (let i = 0; i < n; i += data.length) {
            bytes.set(data.subarray(0, Math.min(data.length, n - i)), i);
          }
          Deno.writeFileSync(input, bytes);
          const before = Deno.readFileSync(l.file);
          const w = await pmemctl(
            "map",
            "write",
            l.dev,
            "--offset",
            String(at),
            "--input",
            input,
            "--jobs",
            jobs,
            "--json",
          );
          assert.equal(w.code, 0, w.stderr);
          const doc = JSON.parse(w.stdout);
          assert.deepEqual([doc.io, doc.bytes, doc.jobs], [
            "o_direct",
            n,
            Number(jobs),
          ]);
          const after = Deno.readFileSync(l.file);
          const what = `write ${n} at ${at}`;
          sameBytes(after.subarray(at, at + n), bytes, what);
          sameBytes(after.subarray(0, at), before.subarray(0, at), what);
          sameBytes(after.subarray(at + n), before.subarray(at + n), what);

          const out = `${input}.out`;
          const r = await pmemctl(
            "map",
            "read",
            l.dev,
            "--offset",
            String(at + 1),
            "--length",
            String(n - 1),
            "--output",
            out,
            "--jobs",
            jobs,
          );
          assert.equal(r.code, 0, r.stderr);
          sameBytes(Deno.readFileSync(out), bytes.subarray(1), `read ${what}`);
          Deno.removeSync(out);
        }
        const before = Deno.readFileSync(l.file);
        const z = await pmemctl(
          "map",
          "zero",
          l.dev,
          "--offset",
          String(5 * MiB + 3),
          "--length",
          String(20 * MiB + 1),
          "--force",
        );
        assert.equal(z.code, 0, z.stderr);
        assert.ok(
          slice(l.file, 5 * MiB + 3, 20 * MiB + 1).every((b) => b === 0),
        );
        sameBytes(
          slice(l.file, 0, 5 * MiB + 3),
          before.subarray(0, 5 * MiB + 3),
          "before the zeroed range",
        );
        sameBytes(
          slice(l.file, 25 * MiB + 4, 39 * MiB - 4),
          before.subarray(25 * MiB + 4),
          "after the zeroed range",
        );
        const v = await pmemctl(
          "verify",
          l.dev,
          "--mode",
          "destructive",
          "--force",
          "--offset",
          "1000",
          "--length",
          String(40 * MiB),
          "--json",
        );
        assert.equal(v.code, 0, v.stderr);
        const vd = JSON.parse(v.stdout);
        assert.deepEqual([vd.result, vd.io], ["pass", "o_direct"]);
      } finally {
        detach(l);
        Deno.removeSync(input);
      }
    },
  );
}

requireThat(
  missing,
  "map --jobs on a block device leaves no descriptor open: each worker closes its O_DIRECT one",
  async () => {
    // Large enough that the worker, which starts ~20 ms late, takes pieces.
    const l = loop(512 * MiB, 512);
    // Descriptors of this process open on the loop device.
    const open = () =>
      [...Deno.readDirSync("/proc/self/fd")].filter((e) => {
        try {
          return Deno.readLinkSync(`/proc/self/fd/${e.name}`) === l.dev;
        } catch {
          return false;
        }
      }).length;
    try {
      {
        using t = Target.open(l.dev, "write", "map zero");
        const r = await zeroRange(t, 0, 512 * MiB, undefined, undefined, 2);
        assert.deepEqual([r.jobs, t.io], [2, "o_direct"]);
      }
      assert.equal(open(), 0);
    } finally {
      detach(l);
    }
  },
);
