/**
 * The command line as a person meets it, tested in-process through the
 * Output seam (`run(args, out)`): help, version, usage errors and their exit
 * codes, the man page and completions. One test runs the real process, for
 * its exit status.
 */
import assert from "node:assert/strict";
import denoJson from "../deno.json" with { type: "json" };
import { run, VERSION } from "../cli.ts";
import { captureOutput } from "../src/cli/output.ts";
import { commandsOf } from "../src/cli/spec.ts";
import { commandTree } from "../src/cli/tree.ts";
import { CLI, pmemctl } from "./helpers.ts";
import { have, requireThat } from "./require.ts";

async function cli(...args: string[]) {
  const out = captureOutput();
  const code = await run(args, out);
  return { code, stdout: out.out, stderr: out.err };
}

Deno.test("--version and -V print deno.json's version (the process too)", async () => {
  for (const flag of ["--version", "-V"]) {
    const r = await cli(flag);
    assert.deepEqual([r.code, r.stdout, r.stderr], [
      0,
      `${denoJson.version}\n`,
      "",
    ]);
  }
  const p = await pmemctl("--version");
  assert.deepEqual([p.code, p.stdout.trim()], [0, denoJson.version]);
});

Deno.test("--help lists the commands on stdout", async () => {
  const r = await cli("--help");
  assert.equal(r.code, 0);
  assert.match(r.stdout, /^USAGE\n {2}pmemctl list /);
  assert.match(r.stdout, /pmemctl completions <shell>/);
  assert.match(r.stdout, /^ {2}verify +prove a range holds data/m);
  assert.equal(r.stderr, "");
  const sub = await cli("verify", "--help");
  assert.match(
    sub.stdout,
    /--mode mode +what to do \[scan\|rw\|destructive\|stamp\|check; default: scan\]/,
  );
  assert.match(
    sub.stdout,
    /ARGUMENTS\n {2}path +\/dev\/pmemN, \/dev\/daxN\.M or a file/,
  );
});

Deno.test("no command: help on stderr, exit 2", async () => {
  const r = await cli();
  assert.equal(r.code, 2);
  assert.equal(r.stdout, "");
  assert.match(r.stderr, /^USAGE\n {2}pmemctl list /);
  // It ends as every failure does: one pmemctl: line.
  assert.match(
    r.stderr,
    /\npmemctl: usage: a command is needed \(see 'pmemctl --help'\)\n$/,
  );
});

for (const args of [["--version"], ["--help"], ["list", "--help"], ["man"]]) {
  Deno.test(`${args.join(" ")} to a full stdout: one line, exit 3; to a closed pipe: exit 0, nothing said`, async () => {
    const bash = (redirect: string) =>
      new Deno.Command("bash", {
        args: [
          "-c",
          `'${Deno.execPath()}' run -A --no-config '${CLI}' ${
            args.join(" ")
          } ${redirect}; exit \${PIPESTATUS[0]}`,
        ],
        stderr: "piped",
      }).output();
    const full = await bash("> /dev/full");
    const said = new TextDecoder().decode(full.stderr);
    assert.equal(full.code, 3, said);
    assert.match(said, /^pmemctl: stdout: No space left on device[^\n]*\n$/);
    const closed = await bash("| true");
    assert.deepEqual(
      [closed.code, new TextDecoder().decode(closed.stderr)],
      [0, ""],
    );
  });
}

for (
  const [args, why, help] of [
    [["--bogus"], "unknown option '--bogus'", "pmemctl --help"],
    [["frobnicate"], "unknown command 'frobnicate' (", "pmemctl --help"],
    [["lst"], "did you mean 'list'?", "pmemctl --help"],
    [["map", "red", "/x"], "did you mean 'read'?", "pmemctl map --help"],
    [["map"], "map: expected a command (info, read", "pmemctl map --help"],
    [
      ["list", "--jsno"],
      "unknown option --jsno; did you mean '--json'?",
      "pmemctl list --help",
    ],
    [["list", "-json"], "did you mean '--json'?", "pmemctl list --help"],
    [["list", "--json=yes"], "--json takes no value", "pmemctl list --help"],
    [
      ["list", "--json", "--json"],
      "--json is given twice",
      "pmemctl list --help",
    ],
    [["list", "--root"], "--root needs a value (dir)", "pmemctl list --help"],
    [["list", "extra"], "unexpected argument 'extra'", "pmemctl list --help"],
    [
      ["completions"],
      "completions: missing argument <shell>",
      "pmemctl completions --help",
    ],
    [
      ["completions", "tcsh"],
      "<shell>: 'tcsh' is not one of bash, zsh, fish",
      "pmemctl completions --help",
    ],
    [
      ["verify", "/x", "--mode", "bogus"],
      "--mode: 'bogus' is not one of scan, rw",
      "pmemctl verify --help",
    ],
  ] as const
) {
  Deno.test(`usage error '${args.join(" ")}': one line, exit 2, no stack`, async () => {
    const r = await cli(...args);
    assert.equal(r.code, 2);
    assert.equal(r.stdout, "");
    const lines = r.stderr.trimEnd().split("\n");
    assert.equal(lines.length, 1, r.stderr);
    assert.ok(lines[0].startsWith("pmemctl: usage: "), lines[0]);
    assert.ok(lines[0].endsWith(` (see '${help}')`), lines[0]);
    assert.ok(lines[0].includes(why), lines[0]);
  });
}

Deno.test("errors of the commands themselves: one pmemctl line and the spec's exit code", async () => {
  for (
    const [args, code, message] of [
      [
        ["map", "read", "/nonexistent-pmemctl"],
        3,
        /^pmemctl: statx \/nonexistent-pmemctl: ENOENT/,
      ],
      [
        ["map", "zero", "/dev/null", "--offset", "4X"],
        2,
        /^pmemctl: --offset: '4X' is not a size/,
      ],
      [
        ["list", "--root", "/nonexistent-pmemctl"],
        2,
        /^pmemctl: --root \/nonexistent-pmemctl: not a directory/,
      ],
      [
        ["kmod", "build", "--kver", "a", "--kdir", "b"],
        2,
        /--kver and --kdir exclude each other/,
      ],
    ] as const
  ) {
    const r = await cli(...args);
    assert.equal(r.code, code, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, message);
    assert.equal(r.stderr.trimEnd().split("\n").length, 1, r.stderr);
  }
});

Deno.test("map read and write refuse terminals (the seam answers the TTY question)", async () => {
  const tty = captureOutput({ stdin: true, stdout: true });
  assert.equal(await run(["map", "read", "/dev/null"], tty), 2);
  assert.match(tty.err, /stdout is a terminal/);
  const tty2 = captureOutput({ stdin: true });
  assert.equal(await run(["map", "write", "/dev/null"], tty2), 2);
  assert.match(tty2.err, /stdin is a terminal/);
});

Deno.test("completions print a script for each shell", async () => {
  for (const shell of ["bash", "zsh", "fish"]) {
    const r = await cli("completions", shell);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /completions/);
  }
});

Deno.test("the man page names every command, flag and exit code of the tree", async () => {
  const r = await cli("man");
  assert.equal(r.code, 0);
  assert.match(r.stdout, /^\.TH PMEMCTL 1 /);
  for (const { path, command } of commandsOf(commandTree("0"))) {
    assert.ok(r.stdout.includes(`.SS "${path.join(" ")}"`), path.join(" "));
    for (const f of command.flags) {
      assert.ok(
        r.stdout.includes(`\\fB\\-\\-${f.name}\\fR`),
        `${path.join(" ")} --${f.name}`,
      );
    }
  }
  for (const code of [0, 1, 2, 3]) {
    assert.match(r.stdout, new RegExp(`^\\\\fB${code}\\\\fR$`, "m"));
  }
  assert.match(r.stdout, /^\.SH EXAMPLES$/m);
});

Deno.test("every command but completions and man describes itself in detail, and --help and the man page carry it", async () => {
  for (const { path, command } of commandsOf(commandTree("0"))) {
    const name = path.join(" ");
    if (name === "completions" || name === "man") continue;
    assert.ok(command.description?.length, `${name} has no description`);
    const help = await cli(...path, "--help");
    assert.equal(help.code, 0, name);
    const text = help.stdout.replace(/\s+/g, " ");
    for (const paragraph of command.description!) {
      assert.ok(text.includes(paragraph), `${name}: ${paragraph}`);
    }
    const body = help.stdout.split("\nFLAGS\n")[0].split("\n");
    for (const line of body.slice(4)) { // after USAGE, its line and the brief
      assert.ok(line.length <= 78, `${name}: ${line}`);
    }
  }
  const man = (await cli("man")).stdout;
  assert.ok(man.includes(".PP\nCopies stdin or \\-\\-input into the target"));
});

requireThat(
  have("groff", ["--version"])
    ? undefined
    : "no groff (apt-get install groff-base)",
  "man -l renders pmemctl.1 without a warning (groff -ww)",
  async () => {
    const r = await cli("man");
    const dir = Deno.makeTempDirSync();
    try {
      Deno.writeTextFileSync(`${dir}/pmemctl.1`, r.stdout);
      const out = await new Deno.Command("groff", {
        args: ["-ww", "-man", "-Tutf8", `${dir}/pmemctl.1`],
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.ok(out.success);
      assert.equal(new TextDecoder().decode(out.stderr), "");
      // Bold is overstruck (X\bX) or SGR: read the plain letters.
      const page = new TextDecoder().decode(out.stdout)
        .replace(new RegExp(".\b", "g"), "")
        .replace(new RegExp(String.fromCharCode(27) + "\\[[0-9;]*m", "g"), "");
      assert.match(page, /EXIT STATUS/);
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
);

Deno.test("verify draws its progress on the Output's stderr when that is a terminal, and the report on stdout", async () => {
  const path = Deno.makeTempFileSync({
    dir: "/dev/shm",
    prefix: "pmemctl-cli-",
  });
  try {
    Deno.truncateSync(path, 32 * 2 ** 20);
    const tty = captureOutput({ stderr: true });
    assert.equal(
      await run(
        ["verify", path, "--mode", "destructive", "--force", "--json"],
        tty,
      ),
      0,
      tty.err,
    );
    assert.match(tty.err, /\r\[=+\] 100% 32\.0 MiB \/ 32\.0 MiB/);
    assert.equal(JSON.parse(tty.out).result, "pass");
    const plain = captureOutput();
    assert.equal(await run(["verify", path, "--json"], plain), 0, plain.err);
    assert.equal(plain.err, "");
  } finally {
    Deno.removeSync(path);
  }
});

Deno.test("every command family cli.ts loads alone is the very spec of the whole tree", async () => {
  const tree = commandTree("0");
  const { FAMILIES } = await import("../src/cli/families.ts");
  const alone = tree.commands.filter((c) =>
    c.name !== "completions" && c.name !== "man"
  );
  assert.deepEqual(
    Object.keys(FAMILIES).sort(),
    alone.map((c) => c.name).sort(),
  );
  for (const c of alone) assert.equal(await FAMILIES[c.name](), c, c.name);
});

Deno.test("a family run alone parses, helps and refuses as in the whole tree", async () => {
  for (
    const args of [
      ["list", "--help"],
      ["map", "--help"],
      ["map", "write", "--help"],
      ["list", "--jsn"],
      ["verify", "/x", "--mode", "bogus"],
      ["plan", "bogus"],
      ["kmod"],
    ]
  ) {
    const alone = captureOutput();
    const code = await run(args, alone);
    const whole = captureOutput();
    const { runTree } = await import("../src/cli/app.ts");
    const wholeCode = await runTree(
      commandTree(VERSION),
      VERSION,
      args,
      whole,
    );
    assert.deepEqual(
      [code, alone.out, alone.err],
      [wholeCode, whole.out, whole.err],
      args.join(" "),
    );
  }
});
