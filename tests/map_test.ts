/**
 * `pmemctl map` on regular files in /dev/shm, run as a user runs it: round
 * trips at unaligned offsets, and every refusal leaving the target as it was.
 * Devices and DAX files are tested in the guests (vm_map_test.ts).
 */
import assert from "node:assert/strict";
import { windows } from "../src/target/windows.ts";
import { CLI, pmemctl } from "./helpers.ts";
import { have, requireThat } from "./require.ts";

const MiB = 2 ** 20;

function shmFile(size: number, fill?: Uint8Array): string {
  const path = Deno.makeTempFileSync({
    dir: "/dev/shm",
    prefix: "pmemctl-map-",
  });
  Deno.truncateSync(path, size);
  if (fill) Deno.writeFileSync(path, fill);
  return path;
}

function random(n: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i += 65536) {
    crypto.getRandomValues(out.subarray(i, Math.min(n, i + 65536)));
  }
  return out;
}

/**
 * Asserts two byte arrays are equal, naming the first difference
 * (node:assert's deepEqual takes minutes and gigabytes on megabytes).
 */
function assertBytes(
  actual: Uint8Array,
  expected: Uint8Array,
  what = "bytes",
): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < actual.length; i++) {
    if (actual[i] !== expected[i]) {
      assert.fail(
        `${what}: byte ${i} is ${actual[i]}, expected ${expected[i]}`,
      );
    }
  }
}

/** Runs pmemctl with `input` on stdin. */
async function withStdin(input: Uint8Array, ...args: string[]) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, ...args],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const w = child.stdin.getWriter();
  await w.write(input).catch(() => {});
  await w.close().catch(() => {});
  const out = await child.output();
  return {
    code: out.code,
    stdout: out.stdout,
    stderr: new TextDecoder().decode(out.stderr),
  };
}

Deno.test("windows: aligned mappings cover any offset and length, at most one window each", () => {
  const ws = windows(3 * MiB + 777, 5 * MiB + 5, 2 * MiB, 4 * MiB);
  assert.deepEqual(ws.map((w) => [w.mapStart / MiB, w.mapLength / MiB]), [[
    2,
    4,
  ], [6, 4]]);
  assert.equal(ws[0].start, 3 * MiB + 777);
  assert.equal(ws.reduce((n, w) => n + w.length, 0), 5 * MiB + 5);
  assert.equal(ws[1].start + ws[1].length, 8 * MiB + 782);
  for (const w of ws) {
    assert.equal(w.mapStart % (2 * MiB), 0);
    assert.equal(w.mapLength % (2 * MiB), 0);
    assert.ok(
      w.start >= w.mapStart && w.start + w.length <= w.mapStart + w.mapLength,
    );
  }
  // A 1 GiB device-DAX alignment widens the window to one alignment unit.
  assert.deepEqual(
    windows(10, 20, 2 ** 30, 16 * MiB).map((w) => [w.mapStart, w.mapLength]),
    [[0, 2 ** 30]],
  );
  assert.deepEqual(windows(0, 0, 4096), []);
});

Deno.test("map info on a tmpfs file: page cache, no MAP_SYNC, msync", async () => {
  const path = shmFile(MiB);
  try {
    const r = await pmemctl("map", "info", path, "--json");
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), {
      path,
      kind: "file",
      size: MiB,
      dax: false,
      map_sync: false,
      align: 4096,
      persistence: "msync",
      io: "pwrite",
      cache_flush: "msync",
      warnings: [],
    });
  } finally {
    Deno.removeSync(path);
  }
});

Deno.test("map write and read round-trip at unaligned offsets, stdin/stdout and files", async () => {
  const path = shmFile(40 * MiB);
  const data = random(17 * MiB + 12345);
  const input = Deno.makeTempFileSync();
  const output = Deno.makeTempFileSync();
  try {
    let r = await withStdin(data, "map", "write", path, "--offset", "4097");
    assert.equal(r.code, 0, r.stderr);
    r = await withStdin(
      new Uint8Array(0),
      "map",
      "read",
      path,
      "--offset",
      "4097",
      "--length",
      String(data.length),
    );
    assert.equal(r.code, 0, r.stderr);
    assertBytes(r.stdout, data, "read back");
    // The file itself holds the bytes where they were asked to go.
    const file = Deno.readFileSync(path);
    assertBytes(file.subarray(4097, 4097 + data.length), data, "file");
    assert.equal(file[4096], 0);
    // --input / --output, hex offset with a suffix.
    Deno.writeFileSync(input, data.subarray(0, 3 * MiB));
    const w = await pmemctl(
      "map",
      "write",
      path,
      "--offset",
      "0x1M",
      "--input",
      input,
    );
    assert.equal(w.code, 0, w.stderr);
    const rd = await pmemctl(
      "map",
      "read",
      path,
      "--offset",
      "1M",
      "--length",
      "3M",
      "--output",
      output,
    );
    assert.equal(rd.code, 0, rd.stderr);
    assertBytes(
      Deno.readFileSync(output),
      data.subarray(0, 3 * MiB),
      "--output",
    );
  } finally {
    for (const p of [path, input, output]) Deno.removeSync(p);
  }
});

Deno.test("map write refusals leave the target untouched", async () => {
  const before = random(MiB);
  const path = shmFile(MiB, before);
  const input = Deno.makeTempFileSync();
  try {
    Deno.writeFileSync(input, random(4096));
    const cases: [string[], number, RegExp][] = [
      [
        ["map", "write", path, "--offset", "1M", "--input", input],
        2,
        /past the end/,
      ],
      [
        ["map", "write", path, "--offset", String(MiB - 100), "--input", input],
        2,
        /past the end/,
      ],
      [
        ["map", "write", path, "--length", "8K", "--input", input],
        2,
        /holds 4096 bytes, --length asks for 8192; nothing was written/,
      ],
      [
        ["map", "write", path, "--offset", "1.5K", "--input", input],
        2,
        /--offset: '1\.5K' is not a size/,
      ],
      [["map", "zero", path, "--length", "4K"], 2, /pass --force/],
      [
        ["map", "write", "/dev/shm", "--input", input],
        2,
        /not a block device, device-DAX or regular file/,
      ],
      [["map", "write", "/dev/null", "--input", input], 2, /not device-DAX/],
      [
        ["map", "write", "/dev/shm/pmemctl-none", "--input", input],
        3,
        /ENOENT/,
      ],
      [
        ["map", "write", path, "--input", "/nonexistent-input"],
        3,
        /open \/nonexistent-input: ENOENT/,
      ],
    ];
    for (const [args, code, message] of cases) {
      const r = await pmemctl(...args);
      assert.equal(r.code, code, `${args.join(" ")}: ${r.stderr}`);
      assert.equal(r.stderr.trimEnd().split("\n").length, 1, r.stderr);
      assert.match(r.stderr, message);
    }
    assertBytes(Deno.readFileSync(path), before, "untouched target");
  } finally {
    Deno.removeSync(path);
    Deno.removeSync(input);
  }
});

Deno.test("map write from a pipe: short input and input longer than the target say what was written", async () => {
  const path = shmFile(64 * 1024);
  try {
    const short = await withStdin(
      random(1000),
      "map",
      "write",
      path,
      "--length",
      "4096",
    );
    assert.equal(short.code, 2);
    assert.match(
      short.stderr,
      /ended after 1000 of the 4096 bytes .*1000 bytes were written at offset 0/,
    );
    const long = await withStdin(
      random(70 * 1024),
      "map",
      "write",
      path,
      "--offset",
      "4K",
    );
    assert.equal(long.code, 2);
    assert.match(
      long.stderr,
      /longer than the 61440 bytes from offset 4096 to the end/,
    );
    const exact = await withStdin(
      random(60 * 1024),
      "map",
      "write",
      path,
      "--offset",
      "4K",
    );
    assert.equal(exact.code, 0, exact.stderr);
  } finally {
    Deno.removeSync(path);
  }
});

Deno.test("map write from a stdin file another reader took bytes of: writes the rest, leaves the descriptor at the end", async () => {
  const data = random(300_000);
  const path = shmFile(1 * MiB);
  const input = shmFile(0, data);
  const after = shmFile(0);
  try {
    // dd takes exactly 1000 bytes; pmemctl must write the other 299000 and
    // leave nothing for the cat after it.
    const out = await new Deno.Command("bash", {
      args: [
        "-c",
        `{ dd bs=1000 count=1 of=/dev/null 2>/dev/null; "$0" run -A "$1" map write "$2" --offset 5 || exit; cat > "$3"; } < "$4"`,
        Deno.execPath(),
        CLI,
        path,
        after,
        input,
      ],
      stderr: "piped",
    }).output();
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    const back = Deno.readFileSync(path);
    assertBytes(back.subarray(5, 5 + 299_000), data.subarray(1000), "target");
    assertBytes(back.subarray(0, 5), new Uint8Array(5), "before the offset");
    assert.equal(Deno.statSync(after).size, 0);
  } finally {
    for (const p of [path, input, after]) Deno.removeSync(p);
  }
});

Deno.test("map write --input of a /proc file (size 0) writes all it reads", async () => {
  const path = shmFile(64 * 1024);
  try {
    const r = await pmemctl("map", "write", path, "--input", "/proc/version");
    assert.equal(r.code, 0, r.stderr);
    const want = Deno.readFileSync("/proc/version");
    assert.ok(want.length > 0);
    assertBytes(Deno.readFileSync(path).subarray(0, want.length), want);
  } finally {
    Deno.removeSync(path);
  }
});

Deno.test("map zero --force zeroes exactly the range", async () => {
  const path = shmFile(MiB, new Uint8Array(MiB).fill(0xab));
  try {
    const r = await pmemctl(
      "map",
      "zero",
      path,
      "--offset",
      "1000",
      "--length",
      "5000",
      "--force",
    );
    assert.equal(r.code, 0, r.stderr);
    const after = Deno.readFileSync(path);
    assert.equal(after[999], 0xab);
    assert.ok(after.subarray(1000, 6000).every((b) => b === 0));
    assert.equal(after[6000], 0xab);
  } finally {
    Deno.removeSync(path);
  }
});

requireThat(
  have("script", ["-qec", "true", "/dev/null"])
    ? undefined
    : "no script(1) (util-linux) to give pmemctl a terminal",
  "map read refuses a terminal without --output; write refuses a terminal on stdin",
  async () => {
    const path = shmFile(4096);
    try {
      for (
        const [cmd, message] of [[`map read ${path}`, /stdout is a terminal/], [
          `map write ${path}`,
          /stdin is a terminal/,
        ]] as const
      ) {
        // util-linux script(1) gives the command a pseudo-terminal.
        const out = await new Deno.Command("script", {
          args: [
            "-qec",
            `${Deno.execPath()} run -A ${CLI} ${cmd}`,
            "/dev/null",
          ],
          stdin: "null",
          stdout: "piped",
        }).output();
        assert.equal(out.code, 2);
        assert.match(new TextDecoder().decode(out.stdout), message);
      }
    } finally {
      Deno.removeSync(path);
    }
  },
);

/** Runs a bash pipeline (pipefail: any command's failure fails it) and asserts it succeeds. */
async function bashOk(script: string): Promise<void> {
  const r = await new Deno.Command("bash", {
    args: ["-c", `set -o pipefail; ${script}`],
    stderr: "piped",
  }).output();
  assert.equal(r.code, 0, new TextDecoder().decode(r.stderr));
}

/** Byte-for-byte equality, without a diff of megabytes when it fails. */
function same(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/**
 * A script that sets O_NONBLOCK on descriptor `fd`: on a pipe shared with
 * pmemctl, the flag is on the one open file both use, as when a parent
 * (Node, Deno's own node:tty, a fleet agent) left its stdio non-blocking.
 */
function nonBlocking(fd: 0 | 1): string {
  const script = Deno.makeTempFileSync({ suffix: ".ts" });
  Deno.writeTextFileSync(
    script,
    `const { fcntl } = Deno.dlopen("libc.so.6", {
  fcntl: { parameters: ["i32", "i32", "i32"], result: "i32" },
}).symbols;
const F_GETFL = 3, F_SETFL = 4, O_NONBLOCK = 0o4000, F_SETPIPE_SZ = 1031;
if (fcntl(${fd}, F_SETFL, fcntl(${fd}, F_GETFL, 0) | O_NONBLOCK) !== 0) Deno.exit(9);
// The smallest pipe (a page): a few KiB of output already fill it.
if (fcntl(${fd}, F_SETPIPE_SZ, 4096) < 0) Deno.exit(9);
`,
  );
  return script;
}

Deno.test("map read to, map write from and the CLI printing to a pipe someone made non-blocking: waits for the other end (EAGAIN) instead of failing", async () => {
  const data = random(8 * MiB);
  const path = shmFile(8 * MiB, data);
  const out = `${path}.out`;
  const toStdout = nonBlocking(1), fromStdin = nonBlocking(0);
  const deno = Deno.execPath();
  try {
    // The reader sleeps: the pipe's 64 KiB fill at once, then EAGAIN.
    await bashOk(
      `{ '${deno}' run -A '${toStdout}' && exec '${deno}' run -A '${CLI}' map read '${path}'; } | (sleep 1; cat > '${out}')`,
    );
    assert.ok(
      same(Deno.readFileSync(out), data),
      "the bytes read are the file's",
    );

    // What the CLI itself prints (here the man page, 20 KiB) waits the same
    // way. One byte already in the one-page pipe makes a write of a page
    // whose last line is cut short fail after its whole lines went out:
    // Deno's own stdout then repeated them (the page doubled, each time).
    await bashOk(
      `{ '${deno}' run -A '${toStdout}' && printf '#' && exec '${deno}' run -A '${CLI}' man; } | (sleep 1; cat > '${out}.man')`,
    );
    assert.equal(
      Deno.readTextFileSync(`${out}.man`),
      "#" + (await pmemctl("man")).stdout,
    );

    // The writer sleeps: the first read finds nothing yet, EAGAIN.
    Deno.writeFileSync(path, new Uint8Array(8 * MiB));
    await bashOk(
      `(sleep 1; cat '${out}') | { '${deno}' run -A '${fromStdin}' && exec '${deno}' run -A '${CLI}' map write '${path}'; }`,
    );
    assert.ok(
      same(Deno.readFileSync(path), data),
      "the bytes written are the input",
    );
  } finally {
    for (const f of [path, out, `${out}.man`, toStdout, fromStdin]) {
      Deno.removeSync(f, { recursive: true });
    }
  }
});
