/**
 * Never lose a byte: pmemctl tried against the faults a hostile new user
 * meets on regular files, each run as a user runs it. Every test here was
 * first run against the code before the safety work and seen to fail.
 * Devices (/dev/pmem0, /dev/dax0.0) get the same in the guests
 * (vm_safety_test.ts).
 */
import assert from "node:assert/strict";
import {
  CLI,
  copyFixture,
  journalActive,
  lockHolder,
  pmemctl,
  resumeRw,
  sha256File,
  shmFile as shmTemp,
  spawn,
  waitForLock,
} from "./helpers.ts";
import { have, requireThat } from "./require.ts";

const MiB = 2 ** 20;

function shmFile(size: number, random = true): string {
  return shmTemp(size, random, "pmemctl-safety-");
}

const sha256 = sha256File;

const text = (b: Uint8Array) => new TextDecoder().decode(b);

const existsSync = (path: string) => {
  try {
    Deno.lstatSync(path);
    return true;
  } catch {
    return false;
  }
};

/** One `pmemctl: …` line on stderr, never a stack trace. */
function oneLine(stderr: string): void {
  const lines = stderr.trimEnd().split("\n").filter((l) =>
    !l.includes("warning")
  );
  assert.equal(lines.length, 1, stderr);
  assert.match(lines[0], /^pmemctl: /);
}

/** Waits until the journal's newest header says a window is under test. */
async function waitActive(journal: string, limit = 30000): Promise<void> {
  for (let waited = 0; waited < limit; waited += 5) {
    if (journalActive(journal)) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error("no window went under test");
}

/** Starts rw with `journal` and SIGKILLs it while a window is under test. */
async function killMidWindow(path: string, journal: string): Promise<void> {
  const child = spawn("verify", path, "--mode", "rw", "--journal", journal);
  await waitActive(journal);
  child.kill("SIGKILL");
  await child.output();
}

function kill(child: Deno.ChildProcess, signal: Deno.Signal): void {
  try {
    child.kill(signal);
  } catch { /* it ended first */ }
}

Deno.test("map read --output the target itself (or a link to it) is refused before anything is truncated", async () => {
  const path = shmFile(MiB);
  const link = `${path}.link`;
  const hard = `${path}.hard`;
  Deno.symlinkSync(path, link);
  Deno.linkSync(path, hard);
  try {
    const before = await sha256(path);
    for (const out of [path, link, hard]) {
      const r = await pmemctl("map", "read", path, "--output", out);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /is the target .* itself/);
      oneLine(r.stderr);
      assert.equal(await sha256(path), before, out);
    }
    const w = await pmemctl("map", "write", path, "--input", link);
    assert.equal(w.code, 2, w.stderr);
    assert.equal(await sha256(path), before);
  } finally {
    for (const p of [link, hard, path]) Deno.removeSync(p);
  }
});

Deno.test("map write with stdin being the target is refused", async () => {
  const path = shmFile(MiB);
  try {
    const before = await sha256(path);
    const f = await Deno.open(path);
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        CLI,
        "map",
        "write",
        path,
        "--offset",
        "4096",
        "--length",
        "4096",
      ],
      stdin: "piped",
      stderr: "piped",
    }).spawn();
    await f.readable.pipeTo(out.stdin).catch(() => {});
    // A pipe is not the target: this one may write. The file-as-stdin case:
    await out.output();
    const sh = await new Deno.Command("sh", {
      args: [
        "-c",
        `exec '${Deno.execPath()}' run -A '${CLI}' map write '${path}' --offset 4096 < '${path}'`,
      ],
      stderr: "piped",
    }).output();
    assert.equal(sh.code, 2, text(sh.stderr));
    assert.match(text(sh.stderr), /stdin: is the target/);
    void before;
  } finally {
    Deno.removeSync(path);
  }
});

Deno.test("verify rw --journal the target itself, or a file that is not a journal, is refused untouched", async () => {
  const path = shmFile(4 * MiB);
  const other = shmFile(64 * 1024);
  const link = `${path}.link`;
  Deno.symlinkSync(path, link);
  try {
    const before = await sha256(path);
    const otherBefore = await sha256(other);
    for (const j of [path, link]) {
      const r = await pmemctl("verify", path, "--mode", "rw", "--journal", j);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /is the target .* itself/);
      oneLine(r.stderr);
    }
    const r = await pmemctl("verify", path, "--mode", "rw", "--journal", other);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /not a pmemctl rw journal: not overwriting it/);
    assert.equal(await sha256(path), before);
    assert.equal(await sha256(other), otherBefore);
  } finally {
    for (const p of [link, path, other]) Deno.removeSync(p);
  }
});

Deno.test("an interrupted rw journal is never overwritten by a new run; --resume restores it", async () => {
  const path = shmFile(96 * MiB);
  const journal = `${path}.journal`;
  try {
    const before = await sha256(path);
    await killMidWindow(path, journal);
    const saved = await sha256(journal);
    const again = await pmemctl(
      "verify",
      path,
      "--mode",
      "rw",
      "--journal",
      journal,
    );
    assert.equal(again.code, 2, again.stderr);
    assert.match(again.stderr, /interrupted run .*pass --resume/);
    oneLine(again.stderr);
    assert.equal(await sha256(journal), saved, "the journal is untouched");
    const resumed = await resumeRw(path, journal);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.equal(await sha256(path), before);
    // A finished journal of the same run may be used again.
    const reuse = await pmemctl(
      "verify",
      path,
      "--mode",
      "rw",
      "--journal",
      journal,
    );
    assert.equal(reuse.code, 0, reuse.stderr);
  } finally {
    Deno.removeSync(path);
    try {
      Deno.removeSync(journal);
    } catch { /* never made */ }
  }
});

Deno.test("a truncated or garbled journal is refused by --resume, and the target is not touched", async () => {
  const path = shmFile(64 * MiB);
  const journal = `${path}.journal`;
  try {
    await killMidWindow(path, journal);
    const good = Deno.readFileSync(journal);
    const killed = await sha256(path);
    const cases: [string, Uint8Array][] = [
      ["cut in the saved bytes", good.subarray(0, 8192 + 1000)],
      ["cut in the header", good.subarray(0, 100)],
      ["empty", new Uint8Array(0)],
      [
        "saved byte flipped",
        (() => {
          const b = good.slice();
          b[8192 + 12345] ^= 0x40;
          return b;
        })(),
      ],
      [
        "both headers flipped",
        (() => {
          const b = good.slice();
          b[40] ^= 1;
          b[4096 + 40] ^= 1;
          return b;
        })(),
      ],
      [
        "numbers garbled",
        (() => {
          const b = good.slice();
          for (const slot of [0, 4096]) {
            const s = text(b.subarray(slot, slot + 4096));
            const at = s.indexOf('"window":');
            if (at >= 0) {
              b.set(new TextEncoder().encode('"window":-9'), slot + at);
            }
          }
          return b;
        })(),
      ],
    ];
    for (const [name, bytes] of cases) {
      Deno.writeFileSync(journal, bytes);
      const r = await resumeRw(path, journal);
      assert.equal(r.code, 2, `${name}: ${r.stderr}`);
      assert.match(r.stderr, /--journal /, name);
      oneLine(r.stderr);
      assert.equal(
        await sha256(path),
        killed,
        `${name}: the target was touched`,
      );
    }
    // The intact journal still restores everything.
    Deno.writeFileSync(journal, good);
    const r = await resumeRw(path, journal);
    assert.equal(r.code, 0, r.stderr);
  } finally {
    Deno.removeSync(path);
    Deno.removeSync(journal);
  }
});

Deno.test("--resume refuses a journal of another target, or a target that shrank, before writing", async () => {
  const path = shmFile(64 * MiB);
  const other = shmFile(64 * MiB);
  const journal = `${path}.journal`;
  try {
    await killMidWindow(path, journal);
    const otherBefore = await sha256(other);
    const r = await resumeRw(other, journal);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /belongs to /);
    assert.equal(await sha256(other), otherBefore);
    Deno.truncateSync(path, 4 * MiB);
    const shrunk = await resumeRw(path, journal);
    assert.equal(shrunk.code, 2, shrunk.stderr);
    oneLine(shrunk.stderr);
    assert.equal(Deno.statSync(path).size, 4 * MiB);
  } finally {
    for (const p of [path, other, journal]) Deno.removeSync(p);
  }
});

Deno.test("two pmemctl on one target: the second is refused at once, naming the holder", async () => {
  const path = shmFile(128 * MiB);
  try {
    const child = spawn(
      "verify",
      path,
      "--mode",
      "destructive",
      "--force",
      "--passes",
      "50",
    );
    // Wait until the first holds its lock.
    assert.ok(await waitForLock(child.pid, path), "pmemctl took its lock");
    for (
      const args of [
        ["map", "write", path, "--input", "/dev/null", "--length", "0"],
        ["map", "zero", path, "--force", "--length", "4096"],
        ["verify", path, "--mode", "rw", "--length", "1M"],
        ["verify", path, "--mode", "scan", "--length", "1M"],
        ["map", "read", path, "--length", "4096", "--output", "/dev/null"],
      ]
    ) {
      const t0 = performance.now();
      const r = await pmemctl(...args);
      assert.equal(r.code, 3, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, new RegExp(`pid ${child.pid}`));
      oneLine(r.stderr);
      assert.ok(performance.now() - t0 < 5000);
    }
    child.kill("SIGTERM");
    await child.output();
  } finally {
    Deno.removeSync(path);
  }
});

Deno.test("destructive and map zero stop within a second of SIGINT/SIGTERM and say so (exit 3)", async () => {
  const path = shmFile(64 * MiB, false);
  try {
    for (const sig of ["SIGINT", "SIGTERM"] as const) {
      for (
        const args of [
          [
            "verify",
            path,
            "--mode",
            "destructive",
            "--force",
            "--passes",
            "200",
            "--json",
          ],
          ["verify", path, "--mode", "scan", "--json"],
        ]
      ) {
        const child = spawn(...args);
        const locked = await waitForLock(child.pid, path, 10000);
        // A scan of 64 MiB may end before its lock is seen.
        assert.ok(locked || args.includes("scan"), "pmemctl took its lock");
        await new Promise((r) => setTimeout(r, 300));
        const t0 = performance.now();
        kill(child, sig);
        const out = await child.output();
        const took = performance.now() - t0;
        if (out.code === 0 && args.includes("scan")) continue; // scan may finish first
        assert.equal(out.code, 3, `${sig} ${args[3]}: ${text(out.stderr)}`);
        assert.ok(took < 1000, `stopped after ${took} ms`);
        assert.match(
          text(out.stderr),
          new RegExp(`interrupted by ${sig}: stopped after \\d+ bytes`),
        );
        const doc = JSON.parse(text(out.stdout));
        assert.equal(doc.interrupted, `interrupted by ${sig}`);
        assert.equal(doc.result, "fail");
      }
    }
  } finally {
    Deno.removeSync(path);
  }
});

/** A small tmpfs, mounted for the test (root only). */
async function withTmpfs(size: string, fn: (dir: string) => Promise<void>) {
  const dir = Deno.makeTempDirSync({ prefix: "pmemctl-tmpfs-" });
  const m = await new Deno.Command("mount", {
    args: ["-t", "tmpfs", "-o", `size=${size}`, "tmpfs", dir],
    stderr: "piped",
  }).output();
  assert.ok(m.success, text(m.stderr));
  try {
    await fn(dir);
  } finally {
    await new Deno.Command("umount", { args: [dir] }).output();
    Deno.removeSync(dir);
  }
}

const root = Deno.uid() === 0 ? undefined : "needs root to mount a small tmpfs";

requireThat(
  root,
  "a full filesystem under a sparse target: exit 3 before a byte changes, never SIGBUS",
  async () => {
    await withTmpfs("4m", async (dir) => {
      const path = `${dir}/sparse`;
      const head = new Uint8Array(8192).fill(0xa5);
      Deno.writeFileSync(path, head);
      Deno.truncateSync(path, 32 * MiB);
      for (
        const args of [
          ["map", "zero", path, "--force"],
          ["verify", path, "--mode", "destructive", "--force"],
          ["verify", path, "--mode", "stamp", "--force"],
          ["verify", path, "--mode", "rw"],
          ["map", "write", path, "--input", "/dev/zero", "--length", "16M"],
        ]
      ) {
        const r = await pmemctl(...args);
        assert.equal(
          r.code,
          3,
          `${args.slice(0, 4).join(" ")}: ${r.code} ${r.stderr}`,
        );
        assert.match(r.stderr, /filesystem is full/);
        oneLine(r.stderr);
        assert.deepEqual(
          Deno.readFileSync(path).subarray(0, 8192),
          head,
          args.join(" "),
        );
      }
    });
  },
);

requireThat(
  root,
  "a full filesystem under a pipe write: exit 3 naming the offset, never SIGBUS",
  async () => {
    await withTmpfs("4m", async (dir) => {
      const path = `${dir}/sparse`;
      Deno.writeFileSync(path, new Uint8Array(0));
      Deno.truncateSync(path, 32 * MiB);
      const sh = await new Deno.Command("sh", {
        args: [
          "-c",
          `head -c 20000000 /dev/zero | '${Deno.execPath()}' run -A '${CLI}' map write '${path}'`,
        ],
        stderr: "piped",
      }).output();
      assert.equal(sh.code, 3, text(sh.stderr));
      assert.match(text(sh.stderr), /filesystem is full/);
    });
  },
);

Deno.test("a target that shrinks during a run: exit 3 with the offset, never SIGBUS", async () => {
  for (
    const args of [
      ["--mode", "destructive", "--force", "--passes", "100"],
      ["--mode", "rw"],
      ["map-zero"],
      // A scan reads holes quickly: 16 GiB of them take about a second.
      ["--mode", "scan", "--jobs", "1"],
      ["--mode", "scan", "--jobs", "2"],
    ]
  ) {
    const scan = args[1] === "scan";
    const path = shmFile(scan ? 16 * 1024 * MiB : 256 * MiB, false);
    try {
      const child = args[0] === "map-zero"
        ? spawn("map", "zero", path, "--force")
        : spawn("verify", path, ...args);
      assert.ok(await waitForLock(child.pid, path), "pmemctl took its lock");
      await new Promise((r) => setTimeout(r, 50));
      Deno.truncateSync(path, 8 * MiB);
      const out = await child.output();
      const stderr = text(out.stderr);
      if (out.code === 0 && args[0] === "map-zero") continue; // done before the truncate
      assert.equal(out.code, 3, `${args.join(" ")}: ${out.code} ${stderr}`);
      assert.match(stderr, /shrank\b.*offset \d+/);
      oneLine(stderr);
    } finally {
      Deno.removeSync(path);
    }
  }
});

Deno.test("verify check finds any changed byte of the stamp's header page", async () => {
  const path = shmFile(MiB, false);
  try {
    const s = await pmemctl("verify", path, "--mode", "stamp", "--force");
    assert.equal(s.code, 0, s.stderr);
    const good = Deno.readFileSync(path);
    for (const at of [52, 60, 64, 100, 2048, 4095]) {
      const bad = good.slice();
      bad[at] ^= 0x10;
      Deno.writeFileSync(path, bad);
      const r = await pmemctl("verify", path, "--mode", "check", "--json");
      assert.equal(r.code, 1, `byte ${at}: ${r.stderr}`);
      const doc = JSON.parse(r.stdout);
      assert.equal(doc.result, "fail");
      if (at >= 64) assert.equal(doc.mismatches[0].offset, at);
    }
  } finally {
    Deno.removeSync(path);
  }
});

Deno.test("verify reports durable in JSON", async () => {
  const path = shmFile(MiB, false);
  try {
    for (const mode of ["destructive", "stamp", "rw", "scan", "check"]) {
      const r = await pmemctl(
        "verify",
        path,
        "--mode",
        mode,
        "--force",
        "--json",
      );
      assert.equal(r.code, 0, `${mode}: ${r.stderr}`);
      assert.equal(JSON.parse(r.stdout).durable, true, mode);
    }
  } finally {
    Deno.removeSync(path);
  }
});

Deno.test("list refuses endless or huge inputs instead of reading forever (exit 2, one line)", async () => {
  const fifo = `${Deno.makeTempDirSync()}/fifo`;
  await new Deno.Command("mkfifo", { args: [fifo] }).output();
  try {
    for (
      const args of [
        ["--dmesg", "/dev/zero"],
        ["--cmdline", "/dev/zero"],
      ]
    ) {
      const t0 = performance.now();
      const r = await pmemctl("list", "--json", ...args);
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, /holds more than the \d+ MiB pmemctl reads/);
      oneLine(r.stderr);
      assert.ok(performance.now() - t0 < 20000);
    }
    // A FIFO whose writer never stops.
    const writer = new Deno.Command("sh", {
      args: ["-c", `exec cat /dev/zero > '${fifo}'`],
      stderr: "null",
    }).spawn();
    const r = await pmemctl("list", "--cmdline", fifo);
    assert.equal(r.code, 2, r.stderr);
    kill(writer, "SIGTERM");
    await writer.status;
    // A captured tree's file past its cap (links to devices are not
    // followed out of a tree at all: tests/root_jail_test.ts).
    const tree = Deno.makeTempDirSync();
    Deno.mkdirSync(`${tree}/proc`, { recursive: true });
    Deno.writeFileSync(`${tree}/proc/iomem`, new Uint8Array(0));
    Deno.truncateSync(`${tree}/proc/iomem`, 17 * MiB);
    const t = await pmemctl("list", "--root", tree, "--dmesg", "/dev/null");
    assert.equal(t.code, 2, t.stderr);
    assert.match(t.stderr, /proc\/iomem: holds more than the 16 MiB/);
    oneLine(t.stderr);
    Deno.removeSync(tree, { recursive: true });
  } finally {
    Deno.removeSync(fifo);
  }
});

Deno.test("a --dmesg that cannot be read is one pmemctl line, never a stack trace", async () => {
  const r = await pmemctl("list", "--dmesg", "/proc/self/mem");
  assert.notEqual(r.code, 0);
  oneLine(r.stderr);
  assert.doesNotMatch(r.stderr, /^\s+at /m);
});

requireThat(
  root ?? (have("setpriv") ? undefined : "no setpriv (util-linux)"),
  "a --dmesg file the user may not read is a system error (exit 3), not a usage error",
  async () => {
    const dir = Deno.makeTempDirSync();
    const log = `${dir}/root-only.log`;
    Deno.writeFileSync(log, new TextEncoder().encode("BIOS-e820: secret\n"));
    Deno.chmodSync(log, 0o600);
    const cache = Deno.makeTempDirSync();
    Deno.chmodSync(cache, 0o777);
    Deno.chmodSync(dir, 0o755);
    try {
      const out = await new Deno.Command("setpriv", {
        args: [
          "--reuid=65534",
          "--regid=65534",
          "--clear-groups",
          Deno.execPath(),
          "run",
          "-A",
          CLI,
          "list",
          "--dmesg",
          log,
        ],
        env: { DENO_DIR: cache, HOME: cache, NO_COLOR: "1" },
        stderr: "piped",
        stdout: "piped",
      }).output();
      const stderr = text(out.stderr).split("\n").filter((l) =>
        l.startsWith("pmemctl")
      ).join("\n");
      assert.equal(out.code, 3, text(out.stderr));
      assert.equal(stderr, `pmemctl: --dmesg ${log}: permission denied`);
      assert.doesNotMatch(text(out.stdout) + text(out.stderr), /secret/);
    } finally {
      Deno.removeSync(dir, { recursive: true });
      Deno.removeSync(cache, { recursive: true });
    }
  },
);

requireThat(
  have("/usr/bin/time", ["-f", "%M", "true"])
    ? undefined
    : "no GNU time (apt-get install time)",
  "list reads a kernel log at its 64 MiB cap within 200 MiB of memory",
  async () => {
    const log = Deno.makeTempFileSync({
      dir: "/dev/shm",
      prefix: "pmemctl-biglog-",
    });
    const root = Deno.makeTempDirSync();
    try {
      const line =
        "[    1.000000] a kernel message of no interest to pmemctl, padded out\n";
      const f = Deno.openSync(log, { write: true });
      const block = new TextEncoder().encode(line.repeat(16384));
      for (let n = 0; n + block.length < 64 * MiB - 4096; n += block.length) {
        f.writeSync(block);
      }
      f.close();
      const out = await new Deno.Command("/usr/bin/time", {
        args: [
          "-f",
          "@@rss %M",
          Deno.execPath(),
          "run",
          "-A",
          CLI,
          "list",
          "--root",
          root,
          "--dmesg",
          log,
        ],
        stdout: "null",
        stderr: "piped",
      }).output();
      const kib = Number(text(out.stderr).match(/@@rss (\d+)/)?.[1]);
      assert.ok(kib > 0, text(out.stderr));
      assert.ok(kib < 200 * 1024, `list used ${Math.round(kib / 1024)} MiB`);
    } finally {
      Deno.removeSync(log);
      Deno.removeSync(root, { recursive: true });
    }
  },
);

Deno.test("map zero and map write from a file stop between windows on SIGINT/SIGTERM, durable so far (exit 3)", async () => {
  const path = shmFile(4096 * MiB, false);
  const input = shmFile(2048 * MiB, false);
  try {
    for (
      const [sig, args] of [
        ["SIGINT", ["map", "zero", path, "--force"]],
        ["SIGTERM", ["map", "write", path, "--input", input]],
      ] as const
    ) {
      const child = spawn(...args);
      assert.ok(await waitForLock(child.pid, path), "pmemctl took its lock");
      await new Promise((r) => setTimeout(r, 100));
      const t0 = performance.now();
      kill(child, sig);
      const out = await child.output();
      const took = performance.now() - t0;
      const stderr = text(out.stderr);
      assert.equal(out.code, 3, `${args[1]}: ${out.code} ${stderr}`);
      assert.match(
        stderr,
        new RegExp(
          `^pmemctl: map ${
            args[1]
          }: interrupted by ${sig}: stopped after \\d+ bytes, (.*made durable|nothing was written)$`,
          "m",
        ),
      );
      oneLine(stderr);
      assert.ok(took < 1000, `stopped after ${took} ms`);
    }
  } finally {
    Deno.removeSync(path);
    Deno.removeSync(input);
  }
});

Deno.test("verify rw on a hangup (a closed terminal or ssh session) puts back the window it was in and stops, exit 3; under nohup it carries on", async () => {
  // 1 GiB, its first 256 MiB random: long enough that the hangup comes
  // mid-run on a loaded machine too (256 MiB once finished before it: exit 0).
  const path = shmFile(1024 * MiB);
  {
    using f = Deno.openSync(path, { write: true });
    const chunk = new Uint8Array(MiB);
    for (let i = 0; i < 256; i++) {
      for (let j = 0; j < MiB; j += 65536) {
        crypto.getRandomValues(chunk.subarray(j, j + 65536));
      }
      f.writeSync(chunk);
    }
  }
  try {
    const before = await sha256(path);
    const child = spawn("verify", path, "--mode", "rw");
    assert.ok(await waitForLock(child.pid, path), "pmemctl took its lock");
    await new Promise((r) => setTimeout(r, 100));
    kill(child, "SIGHUP");
    const out = await child.output();
    assert.equal(out.code, 3, text(out.stderr));
    assert.match(
      text(out.stderr),
      /interrupted by SIGHUP: stopped after \d+ bytes/,
    );
    assert.equal(await sha256(path), before, "every byte is as it was");

    // A hangup that the caller ignores (nohup, trap '' HUP) stays ignored.
    const ignoring = new Deno.Command("sh", {
      args: [
        "-c",
        `trap '' HUP; exec '${Deno.execPath()}' run -A '${CLI}' verify '${path}' --mode rw --length 64M --json`,
      ],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    assert.ok(await waitForLock(ignoring.pid, path), "pmemctl took its lock");
    // Hangups all along: in the run, and after it while the result prints.
    const hangups = setInterval(() => kill(ignoring, "SIGHUP"), 10);
    const carried = await ignoring.output().finally(() =>
      clearInterval(hangups)
    );
    assert.equal(carried.code, 0, text(carried.stderr));
    assert.equal(JSON.parse(text(carried.stdout)).result, "pass");
    assert.equal(await sha256(path), before);
  } finally {
    Deno.removeSync(path);
  }
});

requireThat(
  have("script", ["-V"]) ? undefined : "script (util-linux) is not installed",
  "verify rw in a terminal that hangs up (its ssh session dropped): the window is put back, and a dead terminal is one pmemctl line, never an internal error",
  async () => {
    const path = shmFile(1024 * MiB, true);
    const err = `${path}.stderr`;
    try {
      const before = await sha256(path);
      // script(1) gives pmemctl a terminal of its own on stdout; killing
      // script closes it, and the kernel sends the hangup.
      const term = new Deno.Command("script", {
        args: [
          "-qfc",
          `exec '${Deno.execPath()}' run -A '${CLI}' verify '${path}' --mode rw 2>'${err}'`,
          "/dev/null",
        ],
        stdin: "null",
        stdout: "null",
        stderr: "null",
      }).spawn();
      const pid = await lockHolder(path);
      assert.ok(pid, "pmemctl took its lock");
      await new Promise((r) => setTimeout(r, 100));
      term.kill("SIGKILL");
      await term.status;
      // pmemctl finishes its window, puts it back and exits.
      for (let i = 0; i < 600 && isAlive(pid); i++) {
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.ok(!isAlive(pid), "pmemctl exited");
      const said = Deno.readTextFileSync(err);
      oneLine(said);
      assert.match(said, /^pmemctl: (stdout: .*|interrupted by SIGHUP.*)\n$/);
      assert.equal(await sha256(path), before, "every byte is as it was");
    } finally {
      Deno.removeSync(path);
      Deno.removeSync(err, { recursive: true });
    }
  },
);

function isAlive(pid: number): boolean {
  try {
    Deno.statSync(`/proc/${pid}`);
    return true;
  } catch {
    return false;
  }
}

/** pmemctl as a shell command line, run as a user would (no deno.json). */
const P = `'${Deno.execPath()}' run -A --no-config '${CLI}'`;

/** Runs a bash script in `dir`, its output piped. */
function bashIn(dir: string) {
  return (script: string) =>
    new Deno.Command("bash", {
      args: ["-c", script],
      cwd: dir,
      stdout: "piped",
      stderr: "piped",
    }).output();
}

Deno.test("resource limits: past ulimit -f a write is exit 3 with one line (EFBIG), never death by SIGXFSZ; past ulimit -S -t the run stops like SIGTERM", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "pmemctl-limits-" });
  const bash = bashIn(dir);
  try {
    await bash(
      "head -c 8388608 /dev/urandom > in && truncate -s 8M big && truncate -s 8M t",
    );
    // Each repeated: a listener removed at the end of a run once let a
    // signal still in flight kill the process now and then.
    for (let round = 0; round < 3; round++) {
      for (
        const cmd of [
          `map write big --input in --jobs 1`,
          `map write big --input in --jobs 2`,
          `map read big --output out-${round}`,
          `map zero big --force`,
          `verify t --mode destructive --force`,
        ]
      ) {
        const r = await bash(`ulimit -f 1024; ${P} ${cmd}`);
        const said = text(r.stderr);
        assert.equal(r.code, 3, `${cmd}: ${said}`);
        assert.match(said, /^pmemctl: .*EFBIG/m, cmd);
        assert.equal(said.trimEnd().split("\n").length, 1, said);
        // A full output says how much of it is there.
        const out = said.match(
          /the first (\d+) bytes from offset 0 were written out to (\S+)$/m,
        );
        if (cmd.startsWith("map read")) {
          assert.ok(out, said);
          assert.equal(
            Deno.statSync(`${dir}/${out[2]}`).size,
            Number(out[1]),
            said,
          );
        }
      }
    }
    const shm = `/dev/shm/pmemctl-xcpu-${Deno.pid}`;
    try {
      await bash(`truncate -s 256G ${shm}`);
      const r = await bash(`ulimit -S -t 1; ${P} verify ${shm} --jobs 1`);
      assert.equal(r.code, 3, text(r.stderr));
      assert.match(
        text(r.stderr),
        /^pmemctl: verify: interrupted by SIGXCPU: stopped after \d+ bytes, nothing was written$/m,
      );
    } finally {
      Deno.removeSync(shm);
    }
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("names are the bytes the user gave: a trailing carriage return is kept, a name that is not UTF-8 is refused (exit 2), never rewritten to another file", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "pmemctl-argv-" });
  const bash = bashIn(dir);
  try {
    await bash(
      "for f in data $'data\\r' bad$'\\xef\\xbf\\xbd' in; do head -c 1048576 /dev/urandom > \"$f\"; done",
    );
    const sum = (name: string) => sha256File(`${dir}/${name}`);
    const before = {
      data: await sum("data"),
      bad: await sum("bad\ufffd"),
      in: await sum("in"),
    };

    let r = await bash(`${P} map zero $'data\\r' --force`);
    assert.equal(r.code, 0, text(r.stderr));
    assert.equal(
      await sum("data"),
      before.data,
      "map zero data\\r changed data",
    );
    assert.deepEqual(
      Deno.readFileSync(`${dir}/data\r`),
      new Uint8Array(1 << 20),
      "data\\r was not zeroed",
    );

    r = await bash(`${P} map zero bad$'\\xff' --force`);
    assert.equal(r.code, 2, text(r.stderr));
    assert.match(
      text(r.stderr),
      /^pmemctl: argument 3 "bad\\xff": not valid UTF-8; .*\n$/,
    );
    assert.equal(await sum("bad\ufffd"), before.bad);

    r = await bash(`${P} map read data --output $'out\\r'`);
    assert.equal(r.code, 0, text(r.stderr));
    assert.ok(existsSync(`${dir}/out\r`) && !existsSync(`${dir}/out`));

    r = await bash(`${P} map write $'data\\r' --input $'in\\r'`);
    assert.equal(r.code, 3, text(r.stderr));
    assert.match(text(r.stderr), /^pmemctl: open in\\x0d: ENOENT/);
    assert.equal(await sum("in"), before.in);
    assert.deepEqual(
      Deno.readFileSync(`${dir}/data\r`),
      new Uint8Array(1 << 20),
    );

    r = await bash(`${P} map read data --output out$'\\xfe'`);
    assert.equal(r.code, 2, text(r.stderr));
    assert.deepEqual(
      [...Deno.readDirSync(dir)].map((e) => e.name).sort(),
      ["bad\ufffd", "data", "data\r", "in", "out\r"],
    );
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

/** A journal header slot holding `json`, with a valid checksum. */
async function journalSlot(json: string): Promise<Uint8Array> {
  const page = new Uint8Array(4096);
  page.set(new TextEncoder().encode("PMJRNL02"), 0);
  const body = new TextEncoder().encode(json);
  new DataView(page.buffer).setUint32(8, body.length, true);
  page.set(body, 12);
  page.set(
    new Uint8Array(
      await crypto.subtle.digest("SHA-256", page.slice(0, 4064)),
    ),
    4064,
  );
  return page;
}

Deno.test("a damaged or impossible newest journal header never makes --resume re-test a window it touched: the run is restored", async () => {
  const path = shmFile(96 * MiB);
  const journal = `${path}.journal`;
  try {
    const before = await sha256(path);
    // Killed while a window is changed (the target differs from before).
    for (let attempt = 0; attempt < 10; attempt++) {
      await killMidWindow(path, journal);
      if (await sha256(path) !== before) break;
      const r = await resumeRw(path, journal);
      assert.equal(r.code, 0, r.stderr);
      Deno.removeSync(journal);
    }
    const killed = Deno.readFileSync(path);
    assert.notEqual(await sha256(path), before, "never killed mid-window");
    const good = Deno.readFileSync(journal);
    const [newest] = [0, 4096].map((at) => {
      const head = text(good.subarray(at, at + 4064));
      return { at, seq: Number(head.match(/"seq":(\d+)/)?.[1] ?? -1) };
    }).sort((a, b) => b.seq - a.seq);
    const length = new DataView(good.buffer).getUint32(newest.at + 8, true);
    const json = text(good.subarray(newest.at + 12, newest.at + 12 + length));
    assert.match(json, /"active":true/);
    const flipped = (at: number, bit: number) => {
      const b = good.slice();
      b[newest.at + at] ^= bit;
      return Promise.resolve(b);
    };
    const impossible = async (value: string) => {
      const b = good.slice();
      b.set(
        await journalSlot(json.replace(/"window":\d+/, `"window":${value}`)),
        newest.at,
      );
      return b;
    };
    const cases: [string, () => Promise<Uint8Array>][] = [
      ["a byte of the newest header flipped", () => flipped(40, 1)],
      ["the newest header's checksum flipped", () => flipped(4070, 0x80)],
      ["a negative window", () => impossible("-4096")],
      ["a fractional window", () => impossible("4096.5")],
      ["a null window", () => impossible("null")],
    ];
    for (const [name, make] of cases) {
      Deno.writeFileSync(path, killed); // the same inode, as killed
      Deno.writeFileSync(journal, await make());
      const r = await resumeRw(path, journal);
      assert.equal(r.code, 0, `${name}: ${r.stderr}`);
      assert.equal(
        await sha256(path),
        before,
        `${name}: the target lost bytes`,
      );
    }
    // A new run does not overwrite a journal with a damaged slot.
    const damaged = await flipped(40, 1);
    Deno.writeFileSync(journal, damaged);
    const r = await pmemctl(
      "verify",
      path,
      "--mode",
      "rw",
      "--journal",
      journal,
    );
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /damaged header slot .*not overwriting it/);
    assert.deepEqual(Deno.readFileSync(journal), damaged);
  } finally {
    Deno.removeSync(path);
    try {
      Deno.removeSync(journal);
    } catch { /* never made */ }
  }
});

const loops = Deno.uid() !== 0
  ? "needs root for loop devices"
  : !existsSync("/dev/loop-control")
  ? "no /dev/loop-control (loop devices) on this machine"
  : !have("losetup") || !have("mkfs.ext4", ["-V"])
  ? "needs losetup and mkfs.ext4 (util-linux, e2fsprogs)"
  : undefined;

requireThat(
  loops,
  "a loop device is its backing file, and a second device node is its device: outputs, locks and mounts see through both",
  async () => {
    const dir = Deno.makeTempDirSync({
      dir: "/dev/shm",
      prefix: "pmemctl-loop-",
    });
    const sh = async (script: string) => {
      const r = await new Deno.Command("bash", {
        args: ["-c", script],
        cwd: dir,
        stdout: "piped",
        stderr: "piped",
      }).output();
      return {
        code: r.code,
        stdout: text(r.stdout).trim(),
        stderr: text(r.stderr),
      };
    };
    const made: string[] = [];
    const losetup = async (file: string) => {
      const r = await sh(`losetup -f --show ${file}`);
      assert.equal(r.code, 0, r.stderr);
      made.push(r.stdout);
      return r.stdout;
    };
    const refused = async (code: number, why: RegExp, ...args: string[]) => {
      const r = await pmemctl(...args);
      assert.equal(r.code, code, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, why, `${args.join(" ")}: ${r.stderr}`);
      oneLine(r.stderr);
    };
    try {
      await sh(
        "truncate -s 1G img && head -c 67108864 /dev/urandom | dd of=img conv=notrunc status=none && head -c 1048576 /dev/urandom > in",
      );
      const img = `${dir}/img`;
      const before = await sha256(img);
      const loop = await losetup(img);
      const [major, minor] = (await sh(`stat -L -c '%t %T' ${loop}`)).stdout
        .split(" ").map((h) => parseInt(h, 16));
      await sh(`mknod alias b ${major} ${minor}`);
      const alias = `${dir}/alias`;

      // The loop device's output is its own file: refused before truncating.
      await refused(
        2,
        /is the target .* itself/,
        "map",
        "read",
        loop,
        "--output",
        img,
      );
      await refused(
        2,
        /is the target .* itself/,
        "map",
        "read",
        alias,
        "--output",
        img,
      );
      assert.equal(await sha256(img), before);

      // A run on the loop device holds its file, and the device through any node.
      const second = await losetup(img);
      const run = spawn("verify", loop, "--mode", "rw", "--jobs", "1");
      assert.ok(
        await waitForLock(run.pid, img),
        "the rw run never locked the file",
      );
      const inUse = /^pmemctl: .*: in use: pid \d+ holds a pmemctl lock on it/;
      await refused(3, inUse, "map", "zero", img, "--force");
      await refused(3, inUse, "map", "read", img, "--output", "/dev/null");
      await refused(
        3,
        inUse,
        "map",
        "write",
        alias,
        "--input",
        `${dir}/in`,
      );
      await refused(3, inUse, "map", "read", alias, "--output", "/dev/null");
      await refused(3, inUse, "map", "zero", second, "--force");
      run.kill("SIGTERM");
      const stopped = await run.output();
      assert.equal(stopped.code, 3, text(stopped.stderr));
      assert.equal(
        await sha256(img),
        before,
        "the rw run's windows were not all put back",
      );

      // And a run on the file holds the loop devices over it.
      const onFile = spawn("verify", img, "--mode", "rw", "--jobs", "1");
      assert.ok(await waitForLock(onFile.pid, img));
      await refused(3, inUse, "map", "zero", loop, "--force");
      await refused(3, inUse, "map", "read", second, "--output", "/dev/null");
      onFile.kill("SIGTERM");
      assert.equal((await onFile.output()).code, 3);
      assert.equal(await sha256(img), before);

      // A mounted filesystem's image, through a second loop device or by name.
      await sh("truncate -s 64M fs && mkfs.ext4 -q fs && mkdir mnt");
      const fsLoop = await losetup(`${dir}/fs`);
      const mounted = await sh(`mount ${fsLoop} mnt`);
      assert.equal(mounted.code, 0, mounted.stderr);
      try {
        const fsBefore = await sha256(`${dir}/fs`);
        const other = await losetup(`${dir}/fs`);
        const isMounted = new RegExp(
          `the file behind ${fsLoop}, which is mounted at ${dir}/mnt: unmount it first`,
        );
        await refused(
          3,
          isMounted,
          "map",
          "write",
          other,
          "--input",
          `${dir}/in`,
        );
        await refused(3, isMounted, "map", "zero", `${dir}/fs`, "--force");
        await refused(3, isMounted, "verify", `${dir}/fs`, "--mode", "rw");
        await sh("sync");
        assert.equal(await sha256(`${dir}/fs`), fsBefore);
        // Reading stays allowed.
        const r = await pmemctl("map", "read", other, "--output", "/dev/null");
        assert.equal(r.code, 0, r.stderr);
      } finally {
        await sh(`umount ${dir}/mnt`);
      }
    } finally {
      for (const l of made) await sh(`losetup -d ${l}`);
      Deno.removeSync(dir, { recursive: true });
    }
  },
);

Deno.test("a file another process truncates mid-run is never grown back: the run stops at its new end, exit 3", async () => {
  // A disk filesystem (ext4 here): tmpfs finishes a window too fast to be cut inside it.
  const dir = Deno.makeTempDirSync({ dir: "/var/tmp", prefix: "pmemctl-cut-" });
  const input = `${dir}/input`;
  try {
    await new Deno.Command("bash", {
      args: ["-c", `head -c ${512 * MiB} /dev/urandom > ${input}`],
    }).output();
    for (
      const args of [
        ["verify", "--mode", "stamp", "--force"],
        ["verify", "--mode", "destructive", "--force", "--passes", "20"],
        ["map", "zero", "--force", "--jobs", "1"],
        ["map", "zero", "--force", "--jobs", "2"],
        ["map", "write", "--input", input, "--jobs", "1"],
        ["map", "write", "--input", input, "--jobs", "2"],
      ]
    ) {
      const what = args.join(" ");
      for (const delay of [150, 300, 600]) {
        const path = `${dir}/target`;
        Deno.writeFileSync(path, new Uint8Array());
        Deno.truncateSync(path, 2048 * MiB);
        try {
          const [cmd, ...rest] = args;
          const sub = cmd === "map"
            ? [rest[0], path, ...rest.slice(1)]
            : [path, ...rest];
          const child = spawn(cmd, ...sub);
          assert.ok(await waitForLock(child.pid, path), what);
          await new Promise((r) => setTimeout(r, delay));
          Deno.truncateSync(path, MiB);
          const out = await child.output();
          const stderr = text(out.stderr);
          const size = Deno.statSync(path).size;
          const said =
            `${what} (${delay} ms): exit ${out.code}, ${size} bytes: ${stderr}`;
          if (out.code === 0) {
            // Done before the truncate: nothing to grow back.
            assert.equal(size, MiB, said);
            continue;
          }
          assert.equal(out.code, 3, said);
          oneLine(stderr);
          // A cut that lands between the size check and the pwrite that
          // follows it (ext4 sets the new size late in truncate) lets that
          // one MiB through: then the message says so, with the true size.
          const cut = stderr.match(
            /(?:shrank while .*)?it holds (\d+) bytes now/,
          );
          if (cut) {
            assert.equal(size, Number(cut[1]), said);
            continue;
          }
          assert.match(stderr, /shrank/, said);
          assert.equal(size, MiB, `grown back: ${said}`);
        } finally {
          Deno.removeSync(path);
        }
      }
    }
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("what keeps Deno from starting is one pmemctl line from the launcher, exit 3: ulimit -v below its address space, a deleted working directory", async () => {
  const launcher = new URL("../bin/pmemctl", import.meta.url).pathname;
  const dir = Deno.makeTempDirSync({ prefix: "pmemctl-gone-" });
  const sh = (script: string) =>
    new Deno.Command("sh", {
      args: ["-c", script],
      stdout: "piped",
      stderr: "piped",
    }).output();
  try {
    let r = await sh(`ulimit -v 8000000; exec '${launcher}' list --json`);
    assert.equal(r.code, 3, text(r.stderr));
    assert.match(
      text(r.stderr),
      /^pmemctl: ulimit -v 8000000 KiB: the Deno runtime reserves 33 to 50 GiB of address space .*\n$/,
    );
    assert.equal(text(r.stdout), "");
    r = await sh(
      `cd '${dir}' && rmdir '${dir}' && exec '${launcher}' list --json`,
    );
    assert.equal(r.code, 3, text(r.stderr));
    // The shell says its own word about getcwd first; the last line is ours.
    const said = text(r.stderr).trimEnd().split("\n");
    assert.match(said.at(-1)!, /^pmemctl: working directory: it was deleted; /);
    assert.ok(said.length <= 2, text(r.stderr));
    // Above the limit, it starts.
    r = await sh(`ulimit -v 67108864; exec '${launcher}' --version`);
    assert.equal(r.code, 0, text(r.stderr));
    r = await sh(`ulimit -n 20; exec '${launcher}' list --json`);
    assert.equal(r.code, 3, text(r.stderr));
    assert.match(text(r.stderr), /^pmemctl: ulimit -n 20: .*\n$/);
  } finally {
    try {
      Deno.removeSync(dir);
    } catch { /* removed by the test */ }
  }
});

Deno.test("control characters from names never reach the terminal raw: map info, verify and list escape every one, newlines in a field too", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "pmemctl-ctl-" });
  const root = copyFixture("nfit-fsdax-mounted");
  const name = `${dir}/a\x1b[31mb\nc\u009bd`;
  const shown = `${dir}/a\\x1b[31mb\\x0ac\\x9bd`;
  // deno-lint-ignore no-control-regex
  const raw = /[\x00-\x09\x0b-\x1f\x7f-\x9f]/;
  try {
    Deno.writeFileSync(name, new Uint8Array(MiB));
    for (
      const args of [
        ["map", "info", name],
        ["verify", name],
        ["verify", name, "--mode", "destructive", "--force"],
      ]
    ) {
      const r = await pmemctl(...args);
      assert.equal(r.code, 0, r.stderr);
      assert.doesNotMatch(r.stdout, raw, args.join(" "));
      assert.ok(r.stdout.includes(shown), r.stdout);
      // One line per field: the name's newline did not start a line.
      assert.ok(
        !r.stdout.split("\n").some((l) => l.startsWith("c\\x9bd")),
        r.stdout,
      );
      const json = await pmemctl(...args, "--json");
      assert.equal(
        JSON.parse(json.stdout).path ?? JSON.parse(json.stdout).target,
        name,
      );
    }
    const mountinfo = `${root}/proc/self/mountinfo`;
    Deno.writeTextFileSync(
      mountinfo,
      Deno.readTextFileSync(mountinfo).replace(
        " /mnt/pmem ",
        " /mnt/a\\033[31mred\\012line\\302\\233 ",
      ),
    );
    const r = await pmemctl("list", "--root", root);
    assert.doesNotMatch(r.stdout, raw);
    assert.match(r.stdout, /on \/mnt\/a\\x1b\[31mred\\x0aline\\x9b \(ext4/);
    assert.equal(r.stdout.trimEnd().split("\n").length, 2, r.stdout);
  } finally {
    Deno.removeSync(dir, { recursive: true });
    Deno.removeSync(root, { recursive: true });
  }
});

Deno.test("ulimit -n with --jobs: a run takes the threads the descriptor limit has room for and says so, never a Deno panic", async () => {
  const path = shmFile(2048 * MiB, false);
  try {
    for (
      const cmd of [
        `verify ${path} --jobs 8`,
        `verify ${path} --mode destructive --force --jobs 16`,
        `map zero ${path} --force --jobs 16`,
        `map read ${path} --output /dev/null --jobs 16`,
      ]
    ) {
      for (const files of [40, 64]) {
        const r = await new Deno.Command("bash", {
          args: [
            "-c",
            `ulimit -n ${files}; exec ${P} ${cmd}`,
          ],
          stdout: "null",
          stderr: "piped",
        }).output();
        const said = text(r.stderr);
        assert.equal(r.code, 0, `${cmd} (ulimit -n ${files}): ${said}`);
        assert.match(
          said,
          /^pmemctl: warning: --jobs \d+: ulimit -n leaves descriptors for \d+ threads?: running on \d+\n$/,
          `${cmd} (ulimit -n ${files})`,
        );
      }
    }
  } finally {
    Deno.removeSync(path);
  }
});
