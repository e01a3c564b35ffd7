import assert from "node:assert/strict";
import { requireThat } from "../../tests/require.ts";
import type { GroupSpec } from "./spec.ts";
import { commandTree } from "./tree.ts";
import { fromSpec, renderCompletions, type Shell } from "./completions.ts";

/** A tree with the shapes later commands will have: nesting, valued flags, choices. */
function sampleTree() {
  const noop = () => {};
  const root: GroupSpec = {
    name: "pmemctl",
    brief: "root",
    commands: [
      {
        name: "list",
        brief: "list ranges",
        flags: [
          { name: "json", brief: "json output", kind: "boolean" },
          {
            name: "root",
            brief: "read a captured tree",
            kind: "value",
            placeholder: "dir",
          },
          {
            name: "mode",
            brief: "how",
            kind: "value",
            choices: ["scan", "rw"],
          },
        ],
        args: [],
        run: noop,
      },
      {
        name: "map",
        brief: "move bytes",
        commands: [
          {
            name: "info",
            brief: "describe a target",
            flags: [{ name: "json", brief: "json", kind: "boolean" }],
            args: [{ name: "path", brief: "target" }],
            run: noop,
          },
          {
            name: "read",
            brief: "read bytes",
            flags: [{
              name: "offset",
              brief: "where",
              kind: "value",
              placeholder: "n",
            }],
            args: [{ name: "path", brief: "target" }],
            run: noop,
          },
        ],
      },
    ],
  };
  return fromSpec(root);
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

/** Why a shell test cannot run here (the one skip helper decides). */
const noShell = (name: string) =>
  haveShell(name)
    ? undefined
    : `${name} is not installed (apt-get install ${name})`;

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

requireThat(
  noShell("bash"),
  "bash completion walks nested commands, valued flags and choices",
  async () => {
    const script = renderCompletions(sampleTree(), "bash");
    for (const [line, want] of cases) {
      const got = await bashComplete(script, line);
      if (want === "files") assert.ok(got.includes("etc"), `${line}: ${got}`);
      else assert.deepEqual(got, want, line);
    }
  },
);

requireThat(
  noShell("fish"),
  "fish completion gives the same answers",
  async () => {
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
  },
);

requireThat(
  noShell("zsh"),
  "zsh completion script parses and defines its function",
  async () => {
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
  },
);

requireThat(
  noShell("bash"),
  "pmemctl's own tree completes its commands and shells",
  async () => {
    const tree = fromSpec(commandTree("0"));
    assert.ok(tree.subcommands.some((c) => c.name === "completions"));
    const script = renderCompletions(tree, "bash" satisfies Shell);
    assert.deepEqual(await bashComplete(script, "pmemctl completions "), [
      "bash",
      "fish",
      "zsh",
    ]);
    assert.deepEqual(await bashComplete(script, "pmemctl co"), ["completions"]);
  },
);

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
