/**
 * `pmemctl verify` on files in /dev/shm, run as a user runs it: every mode,
 * exact mismatch offsets, error paths, and rw surviving SIGKILL (--resume)
 * and SIGINT with the content bit-identical. Devices, power cycles and
 * injected bad blocks are tested in the guests (vm_verify_test.ts).
 */
import assert from "node:assert/strict";
import {
  CLI,
  interruptWithin1s,
  journalActive,
  pmemctl,
  resumeRw,
  sha256File,
  shmFile as shmTemp,
  spawn,
} from "./helpers.ts";

const MiB = 2 ** 20;

function shmFile(size: number, random = false): string {
  return shmTemp(size, random, "pmemctl-verify-");
}

const sha256 = sha256File;

// deno-lint-ignore no-explicit-any
type Json = any;

async function json(
  ...args: string[]
): Promise<{ code: number; doc: Json; stderr: string }> {
  const r = await pmemctl("verify", "--json", ...args);
  return {
    code: r.code,
    doc: r.stdout ? JSON.parse(r.stdout) : undefined,
    stderr: r.stderr,
  };
}

Deno.test("verify destructive: spec keys, passes, unaligned ranges leave the rest alone", async () => {
  const path = shmFile(8 * MiB);
  try {
    assert.equal(
      (await pmemctl("verify", path, "--mode", "destructive")).code,
      2,
      "needs --force",
    );
    const { code, doc } = await json(
      path,
      "--mode",
      "destructive",
      "--force",
      "--passes",
      "3",
      "--seed",
      "7",
    );
    assert.equal(code, 0);
    for (
      const key of [
        "path",
        "mode",
        "offset",
        "length",
        "bytes_checked",
        "mismatch_count",
        "mismatches",
        "bad_ranges",
        "seconds",
        "bytes_per_second",
        "result",
      ]
    ) {
      assert.ok(key in doc, key);
    }
    assert.deepEqual([
      doc.result,
      doc.length,
      doc.bytes_checked,
      doc.mismatch_count,
      doc.seed,
    ], ["pass", 8 * MiB, 24 * MiB, 0, 7]);
    Deno.writeFileSync(path, new Uint8Array(8 * MiB).fill(0xee));
    const odd = await json(
      path,
      "--mode",
      "destructive",
      "--force",
      "--offset",
      "3",
      "--length",
      "1000001",
    );
    assert.equal(odd.code, 0);
    const bytes = Deno.readFileSync(path);
    assert.deepEqual([bytes[2], bytes[1000004]], [0xee, 0xee]);
  } finally {
    Deno.removeSync(path);
  }
});

Deno.test("verify stamp then check: exact offsets of changed bytes, exit 1; no stamp says so", async () => {
  const path = shmFile(16 * MiB);
  try {
    assert.equal(
      (await json(path, "--mode", "stamp", "--force", "--length", "8M")).code,
      0,
    );
    const healthy = await json(path, "--mode", "check");
    assert.deepEqual([
      healthy.code,
      healthy.doc.result,
      healthy.doc.length,
      healthy.doc.bytes_checked,
      // Every byte but the header's 64 bytes of fields, checked by checksum.
    ], [0, "pass", 8 * MiB, 8 * MiB - 64]);
    const f = Deno.openSync(path, { read: true, write: true });
    for (const at of [5000, 5001, 7 * MiB + 3]) {
      const b = new Uint8Array(1);
      f.seekSync(at, Deno.SeekMode.Start);
      f.readSync(b);
      b[0] ^= 0x81;
      f.seekSync(at, Deno.SeekMode.Start);
      f.writeSync(b);
    }
    f.close();
    const bad = await json(path, "--mode", "check");
    assert.equal(bad.code, 1);
    assert.equal(bad.doc.result, "fail");
    assert.deepEqual(
      bad.doc.mismatches.map((m: { offset: number }) => m.offset),
      [5000, 5001, 7 * MiB + 3],
    );
    assert.equal(
      bad.doc.mismatches[0].actual,
      bad.doc.mismatches[0].expected ^ 0x81,
    );
    assert.deepEqual(
      bad.doc.bad_ranges.map((
        r: { offset: number; length: number },
      ) => [r.offset, r.length]),
      [[5000, 2], [7 * MiB + 3, 1]],
    );
    assert.match(bad.stderr, /^pmemctl: verify: 3 bytes differ/m);
    const none = await json(path, "--mode", "check", "--offset", "8M");
    assert.equal(none.code, 1);
    assert.match(
      none.doc.reason,
      /no pmemctl stamp \(magic missing\) at offset 8388608/,
    );
  } finally {
    Deno.removeSync(path);
  }
});

Deno.test("verify rw and scan leave the content bit-identical", async () => {
  const path = shmFile(8 * MiB, true);
  try {
    const before = await sha256(path);
    const rw = await json(
      path,
      "--mode",
      "rw",
      "--offset",
      "5",
      "--length",
      "7M",
    );
    assert.deepEqual([rw.code, rw.doc.result, rw.doc.bytes_checked], [
      0,
      "pass",
      7 * MiB,
    ]);
    const scan = await json(path);
    assert.deepEqual([
      scan.code,
      scan.doc.mode,
      scan.doc.result,
      scan.doc.bytes_checked,
    ], [0, "scan", "pass", 8 * MiB]);
    assert.equal(await sha256(path), before);
  } finally {
    Deno.removeSync(path);
  }
});

/**
 * A journal file in /dev/shm: on /tmp's disk its fsyncs, slow under CI's
 * load, filled most of the run, so kills kept landing between windows.
 */
function shmJournal(): string {
  return Deno.makeTempFileSync({ dir: "/dev/shm", prefix: "pmemctl-journal-" });
}

/**
 * Starts rw with a journal, waits until a window is under test (however slow
 * the machine), waits `after` ms more, and sends `signal`.
 */
async function killedRw(
  signal: Deno.Signal,
  after: number,
  path: string,
  journal: string,
) {
  Deno.writeFileSync(journal, new Uint8Array(0));
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      CLI,
      "verify",
      path,
      "--mode",
      "rw",
      "--journal",
      journal,
    ],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  for (let waited = 0; !journalActive(journal) && waited < 30000; waited += 5) {
    await new Promise((r) => setTimeout(r, 5));
  }
  await new Promise((r) => setTimeout(r, after));
  try {
    child.kill(signal);
  } catch { /* already done */ }
  return await child.output();
}

Deno.test("verify rw killed with SIGKILL at many instants, then --resume: bit-identical", async () => {
  const path = shmFile(96 * MiB, true);
  const journal = shmJournal();
  try {
    const before = await sha256(path);
    let midWindow = 0;
    for (const after of [0, 30, 90, 200]) {
      await killedRw("SIGKILL", after, path, journal);
      // Killed while a window was under test: the journal holds its bytes.
      if (journalActive(journal)) midWindow++;
      const r = await resumeRw(path, journal);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(await sha256(path), before, `killed after ${after} ms`);
    }
    assert.ok(midWindow > 0, "at least one kill landed inside a window");
  } finally {
    Deno.removeSync(path);
    Deno.removeSync(journal);
  }
});

Deno.test("verify rw stopped by SIGINT restores the window and exits 3", async () => {
  const path = shmFile(96 * MiB, true);
  const journal = shmJournal();
  try {
    const before = await sha256(path);
    const out = await killedRw("SIGINT", 20, path, journal);
    const stderr = new TextDecoder().decode(out.stderr);
    if (out.code !== 0) {
      assert.equal(out.code, 3, stderr);
      assert.match(
        stderr,
        /interrupted by SIGINT: stopped after \d+ bytes, every tested window restored/,
      );
    }
    assert.equal(await sha256(path), before);
  } finally {
    Deno.removeSync(path);
    Deno.removeSync(journal);
  }
});

Deno.test("verify usage errors", async () => {
  const path = shmFile(MiB);
  try {
    for (
      const [args, message] of [
        [["--mode", "rw", "--resume"], /--resume: needs --journal/],
        [
          ["--mode", "scan", "--journal", "/tmp/x", "--resume"],
          /--resume: goes with --mode rw/,
        ],
        [
          ["--mode", "bogus"],
          /--mode: 'bogus' is not one of scan, rw, destructive, stamp, check/,
        ],
        [["--length", "2M"], /past the end/],
        [
          ["--mode", "stamp", "--force", "--length", "100"],
          /a stamp needs at least 4096 bytes/,
        ],
        [
          ["--passes", "0", "--mode", "destructive", "--force"],
          /--passes: must be at least 1/,
        ],
        [["--jobs", "0"], /--jobs: '0': not a number of threads from 1 to 16/],
        [["--jobs", "17"], /--jobs: '17': not a number/],
        [["--jobs", "2x"], /--jobs: '2x': not a number/],
        [
          ["--mode", "rw", "--jobs", "2"],
          /--jobs: --mode rw runs on one thread/,
        ],
      ] as const
    ) {
      const r = await pmemctl("verify", path, ...args);
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, message);
      assert.equal(r.stderr.trimEnd().split("\n").length, 1);
    }
  } finally {
    Deno.removeSync(path);
  }
});

Deno.test("verify check reads stamps of the first pattern (header version 2) and still finds a flipped byte", async () => {
  const { encodeStamp, STAMP_PATTERN_AT } = await import(
    "../src/verify/stamp.ts"
  );
  const { fillPattern, patternFor } = await import("../src/verify/pattern.ts");
  const path = shmFile(4 * 2 ** 20);
  try {
    const length = 2 * 2 ** 20;
    const bytes = new Uint8Array(length);
    const p = patternFor(99, 0, 1);
    fillPattern(p, bytes, 0);
    bytes.set(
      encodeStamp({
        seed: 99,
        offset: 0,
        length,
        time: Date.now() - 1000,
        patternVersion: 1,
      }).subarray(0, STAMP_PATTERN_AT),
    );
    Deno.writeFileSync(path, bytes);
    Deno.truncateSync(path, 4 * 2 ** 20);
    const ok = await pmemctl("verify", path, "--mode", "check", "--json");
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(JSON.parse(ok.stdout).seed, 99);
    bytes[65536] ^= 4;
    using f = Deno.openSync(path, { write: true });
    f.seekSync(65536, Deno.SeekMode.Start);
    f.writeSync(bytes.subarray(65536, 65537));
    const bad = await pmemctl("verify", path, "--mode", "check", "--json");
    assert.equal(bad.code, 1);
    assert.deepEqual(
      JSON.parse(bad.stdout).mismatches.map((m: { offset: number }) =>
        m.offset
      ),
      [65536],
    );
  } finally {
    Deno.removeSync(path);
  }
});

Deno.test("verify --json says how the bytes moved: pread and pwrite on a page-cache file, mmap for rw", async () => {
  const path = shmFile(2 * MiB);
  try {
    const io = async (...args: string[]) =>
      JSON.parse((await pmemctl("verify", path, "--json", ...args)).stdout).io;
    assert.deepEqual(
      [
        await io(),
        await io("--mode", "destructive", "--force"),
        await io("--mode", "stamp", "--force"),
        await io("--mode", "check"),
        await io("--mode", "rw"),
      ],
      ["pread", "pwrite", "pwrite", "pread", "mmap"],
    );
  } finally {
    Deno.removeSync(path);
  }
});

/** Flips the bits of `mask` in the bytes at `offsets` of `path`. */
function flip(path: string, offsets: number[], mask = 0x81): void {
  const f = Deno.openSync(path, { read: true, write: true });
  for (const at of offsets) {
    const b = new Uint8Array(1);
    f.seekSync(at, Deno.SeekMode.Start);
    f.readSync(b);
    b[0] ^= mask;
    f.seekSync(at, Deno.SeekMode.Start);
    f.writeSync(b);
  }
  f.close();
}

Deno.test("verify --jobs: threads find what one thread finds, in offset order, across their shares' edges", async () => {
  const path = shmFile(96 * MiB);
  try {
    const stamped = await json(
      path,
      "--mode",
      "stamp",
      "--force",
      "--jobs",
      "3",
    );
    assert.equal(stamped.code, 0, stamped.stderr);
    assert.equal(stamped.doc.jobs, 3);
    // Threads take 16 MiB pieces: a bad pair straddles the edge at 48 MiB.
    const changed = [5000, 40 * MiB + 1, 48 * MiB - 1, 48 * MiB, 95 * MiB];
    flip(path, changed);
    const one = await json(path, "--mode", "check", "--jobs", "1");
    const two = await json(path, "--mode", "check", "--jobs", "2");
    const six = await json(path, "--mode", "check", "--jobs", "16");
    assert.deepEqual([one.code, one.doc.jobs, two.doc.jobs, six.doc.jobs], [
      1,
      1,
      2,
      6,
    ]);
    assert.deepEqual(
      one.doc.mismatches.map((m: { offset: number }) => m.offset),
      changed,
    );
    assert.deepEqual(
      one.doc.bad_ranges.map((r: { offset: number; length: number }) => [
        r.offset,
        r.length,
      ]),
      [[5000, 1], [40 * MiB + 1, 1], [48 * MiB - 1, 2], [95 * MiB, 1]],
    );
    for (const r of [two, six]) {
      assert.equal(r.code, 1, r.stderr);
      for (
        const key of [
          "mismatch_count",
          "mismatches",
          "bad_ranges",
          "bytes_checked",
        ]
      ) {
        assert.deepEqual(r.doc[key], one.doc[key], key);
      }
    }
    const destructive = await json(
      path,
      "--mode",
      "destructive",
      "--force",
      "--passes",
      "2",
      "--jobs",
      "4",
    );
    assert.deepEqual(
      [destructive.code, destructive.doc.result, destructive.doc.jobs],
      [0, "pass", 4],
    );
    assert.equal(destructive.doc.bytes_checked, 2 * 96 * MiB);
    const scan = await json(path, "--jobs", "2", "--offset", "1000");
    assert.deepEqual(
      [scan.code, scan.doc.jobs, scan.doc.bytes_checked],
      [0, 2, 96 * MiB - 1000],
    );
  } finally {
    Deno.removeSync(path);
  }
});

Deno.test("verify --jobs 2 stopped by SIGINT: every thread stops within a second, exit 3", async () => {
  const path = shmFile(4096 * MiB);
  try {
    const child = spawn(
      "verify",
      path,
      "--mode",
      "destructive",
      "--force",
      "--jobs",
      "2",
      "--json",
    );
    // Once every block is reserved (fallocate, before any thread writes).
    const size = 4096 * MiB;
    for (
      let waited = 0;
      Deno.statSync(path).blocks! * 512 < size && waited < 30000;
    ) {
      await new Promise((r) => setTimeout(r, 5));
      waited += 5;
    }
    const { stdout } = await interruptWithin1s(child);
    const doc = JSON.parse(stdout);
    assert.equal(doc.interrupted, "interrupted by SIGINT");
    assert.equal(doc.jobs, 2);
    assert.ok(doc.bytes_checked < 4096 * MiB);
    // The threads stopped writing too: the second half was never reached.
    const f = Deno.openSync(path);
    const tail = new Uint8Array(MiB);
    for (const end of [size / 2, size]) {
      f.seekSync(end - MiB, Deno.SeekMode.Start);
      assert.equal(f.readSync(tail), MiB);
      assert.ok(tail.every((b) => b === 0), `written up to ${end}`);
    }
    f.close();
  } finally {
    Deno.removeSync(path);
  }
});
