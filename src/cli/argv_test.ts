import assert from "node:assert/strict";
import { editDistance, parseArgv, suggest } from "./argv.ts";
import type { GroupSpec } from "./spec.ts";

const tree: GroupSpec = {
  name: "pmemctl",
  brief: "",
  commands: [{
    name: "grp",
    brief: "",
    commands: [{
      name: "cmd",
      brief: "",
      flags: [
        { name: "json", short: "j", brief: "", kind: "boolean" },
        { name: "offset", brief: "", kind: "value", default: "0" },
        {
          name: "mode",
          brief: "",
          kind: "value",
          choices: ["a", "b"],
          default: "a",
        },
      ],
      args: [{ name: "path", brief: "" }],
      run() {},
    }],
  }],
};

Deno.test("parseArgv: every accepted spelling gives the same invocation", () => {
  for (
    const argv of [
      ["grp", "cmd", "p", "--offset", "4K", "--json", "--mode", "b"],
      ["grp", "cmd", "--offset=4K", "-j", "--mode=b", "p"],
      ["grp", "cmd", "--json", "--mode", "b", "--offset", "4K", "--", "p"],
    ]
  ) {
    const r = parseArgv(tree, argv);
    assert.equal(r.kind, "run", JSON.stringify(r));
    if (r.kind !== "run") continue;
    assert.deepEqual(r.path, ["grp", "cmd"]);
    assert.deepEqual(r.flags, { offset: "4K", json: true, mode: "b" });
    assert.deepEqual(r.args, ["p"]);
  }
});

Deno.test("parseArgv: defaults, '-' and '--' make positionals", () => {
  const r = parseArgv(tree, ["grp", "cmd", "-"]);
  assert.ok(r.kind === "run");
  assert.deepEqual([r.flags, r.args], [{ offset: "0", mode: "a" }, ["-"]]);
  const dash = parseArgv(tree, ["grp", "cmd", "--", "--json"]);
  assert.ok(dash.kind === "run");
  assert.deepEqual([dash.flags.json, dash.args], [undefined, ["--json"]]);
});

Deno.test("parseArgv: help, version and usage errors", () => {
  assert.equal(parseArgv(tree, []).kind, "help");
  assert.equal(parseArgv(tree, ["-V"]).kind, "version");
  assert.equal(parseArgv(tree, ["grp", "-h"]).kind, "help");
  const help = parseArgv(tree, ["grp", "cmd", "p", "--help"]);
  assert.ok(help.kind === "help" && help.path.join(" ") === "grp cmd");
  const usage = (argv: string[]) => {
    const r = parseArgv(tree, argv);
    assert.equal(r.kind, "usage", JSON.stringify(r));
    return r.kind === "usage" ? r.message : "";
  };
  assert.match(usage(["grp", "cmd", "p", "--mode"]), /--mode needs a value/);
  assert.match(
    usage(["grp", "cmd", "p", "--mode", "c"]),
    /'c' is not one of a, b/,
  );
  assert.match(
    usage(["grp", "cmd", "p", "--ofset", "1"]),
    /did you mean '--offset'/,
  );
  assert.match(usage(["grp", "cmd"]), /missing argument <path>/);
  assert.match(usage(["grp", "cmd", "p", "q"]), /unexpected argument 'q'/);
  assert.match(
    usage(["grp", "cdm"]),
    /unknown command 'grp cdm'; did you mean 'cmd'/,
  );
  assert.match(
    usage(["grp", "cmd", "p", "-x"]),
    /^grp cmd: unknown option -x$/,
  );
  assert.match(usage(["zzzzzz"]), /^unknown command 'zzzzzz'$/);
});

Deno.test("editDistance counts an adjacent swap as one edit", () => {
  assert.equal(editDistance("jsno", "json"), 1);
  assert.equal(editDistance("", "abc"), 3);
  assert.equal(editDistance("list", "list"), 0);
  assert.equal(suggest("lsit", ["list", "map"]), "; did you mean 'list'?");
  assert.equal(suggest("q", ["list", "map"]), "");
});
