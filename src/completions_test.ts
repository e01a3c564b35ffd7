import assert from "node:assert/strict";
import { Command, Option } from "commander";
import { buildProgram } from "../cli.ts";
import { fromCommander, renderCompletions, type Shell } from "./completions.ts";

/** A tree with the shapes later commands will have: nesting, valued flags, choices. */
function sampleTree() {
  const root = new Command("pmemctl").description("root").version(
    "1",
    "-V, --version",
  );
  root.command("list").description("list ranges")
    .option("--json", "json output")
    .option("--root <dir>", "read a captured tree")
    .addOption(new Option("--mode <mode>", "how").choices(["scan", "rw"]));
  const map = root.command("map").description("move bytes");
  map.command("info").description("describe a target").argument("<path>")
    .option("--json", "json");
  map.command("read").description("read bytes").argument("<path>").option(
    "--offset <n>",
    "where",
  );
  return fromCommander(root);
}

function haveShell(name: string): boolean {
  try {
    return new Deno.Command(name, {
      args: ["-c", "true"],
      stdout: "null",
      stderr: "null",
    })
      .outputSync().success;
  } catch {
    return false;
  }
}

/** Fails in CI and skips loudly elsewhere when a shell is missing. */
function requireShell(name: string): boolean {
  if (haveShell(name)) return true;
  if (Deno.env.get("CI") === "true") {
    throw new Error(`${name} is not installed; .ci/run installs it`);
  }
  console.warn(`SKIP: ${name} is not installed (apt-get install ${name})`);
  return false;
}

/** Asks bash's completion function for the candidates after `line`. */
async function bashComplete(script: string, line: string): Promise<string[]> {
  const words = line.split(" ");
  return await completionsFrom(
    "bash",
    `${script}
COMP_WORDS=(${words.map((w) => `'${w}'`).join(" ")})
COMP_CWORD=${words.length - 1}
_pmemctl
printf '%s\\n' "\${COMPREPLY[@]}"`,
  );
}

/** Asks fish for the candidates after `line` (names only). */
async function fishComplete(script: string, line: string): Promise<string[]> {
  return await completionsFrom(
    "fish",
    `${script}\ncomplete -C ${JSON.stringify(line)}`,
  );
}

/** Runs `program` in `shell` from / and returns its sorted output lines, up to a tab. */
async function completionsFrom(
  shell: string,
  program: string,
): Promise<string[]> {
  const out = await new Deno.Command(shell, { args: ["-c", program], cwd: "/" })
    .output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  return new TextDecoder().decode(out.stdout).split("\n").filter((s) =>
    s !== ""
  )
    .map((s) => s.split("\t")[0]).sort();
}

const cases: [string, string[] | "files"][] = [
  ["pmemctl ", ["list", "map"]],
  ["pmemctl m", ["map"]],
  ["pmemctl map ", ["info", "read"]],
  ["pmemctl --", ["--help", "--version"]],
  ["pmemctl list --", ["--help", "--json", "--mode", "--root"]],
  ["pmemctl list --mode ", ["rw", "scan"]],
  ["pmemctl list --root ", "files"],
  ["pmemctl list --root /tmp --j", ["--json"]],
  ["pmemctl map read --offset 4K --", ["--help", "--offset"]],
  ["pmemctl map info ", "files"],
];

Deno.test("bash completion walks nested commands, valued flags and choices", async () => {
  if (!requireShell("bash")) return;
  const script = renderCompletions(sampleTree(), "bash");
  for (const [line, want] of cases) {
    const got = await bashComplete(script, line);
    if (want === "files") assert.ok(got.includes("etc"), `${line}: ${got}`);
    else assert.deepEqual(got, want, line);
  }
});

Deno.test("fish completion gives the same answers", async () => {
  if (!requireShell("fish")) return;
  const script = renderCompletions(sampleTree(), "fish");
  for (const [line, want] of cases) {
    const got = await fishComplete(script, line);
    if (want === "files") assert.ok(got.includes("etc/"), `${line}: ${got}`);
    else {assert.deepEqual(
        got.filter((g) => g !== "-h" && g !== "-V"),
        want,
        line,
      );}
  }
});

Deno.test("zsh completion script parses and defines its function", async () => {
  if (!requireShell("zsh")) return;
  const script = renderCompletions(sampleTree(), "zsh");
  const program =
    `compdef() { :; }\n${script}\nwhence -w _pmemctl\nprint -r -- "\${_pmemctl_choices[pmemctl list --mode]}"`;
  const out = await new Deno.Command("zsh", { args: ["-f", "-c", program] })
    .output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  assert.equal(
    new TextDecoder().decode(out.stdout),
    "_pmemctl: function\nscan rw\n",
  );
});

Deno.test("pmemctl's own tree completes its commands and shells", async () => {
  const tree = fromCommander(buildProgram() as unknown as Command);
  assert.ok(tree.subcommands.some((c) => c.name === "completions"));
  if (!requireShell("bash")) return;
  const script = renderCompletions(tree, "bash" satisfies Shell);
  assert.deepEqual(await bashComplete(script, "pmemctl completions "), [
    "bash",
    "fish",
    "zsh",
  ]);
  assert.deepEqual(await bashComplete(script, "pmemctl co"), ["completions"]);
});

Deno.test("quotes in descriptions do not break the scripts", async () => {
  const tree = sampleTree();
  tree.subcommands[0].description = `it's "quoted" \\ $HOME`;
  for (const shell of ["bash", "fish", "zsh"] as const) {
    if (!haveShell(shell)) continue;
    const out = await new Deno.Command(shell, {
      args: shell === "zsh"
        ? ["-f", "-n", "-c", renderCompletions(tree, shell)]
        : ["-n", "-c", renderCompletions(tree, shell)],
    }).output();
    assert.equal(
      out.code,
      0,
      `${shell}: ${new TextDecoder().decode(out.stderr)}`,
    );
  }
});
