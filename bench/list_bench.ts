/**
 * `pmemctl list` speed: as a whole process against `deno run` of an empty
 * script (target: within 3x), and in-process on synthetic --root trees of
 * 250, 500 and 1,000 namespaces (2,500 to 10,000 iomem lines; target under
 * 1 s at 1,000, growing linearly). Run with `deno task bench`.
 */
import { gather } from "../src/list/gather.ts";
import { joinRegions } from "../src/list/join.ts";
import { listDocument } from "../src/render/json.ts";
import { makeTree } from "./synthetic_tree.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const trees = new Map<number, string>();
for (const n of [250, 500, 1000]) {
  const dir = Deno.makeTempDirSync({ prefix: `pmemctl-bench-${n}-` });
  makeTree(dir, n, n * 10);
  trees.set(n, dir);
}
globalThis.addEventListener("unload", () => {
  for (const dir of trees.values()) Deno.removeSync(dir, { recursive: true });
});

function run(args: string[]): void {
  const out = new Deno.Command(Deno.execPath(), {
    args,
    cwd: ROOT,
    stdout: "null",
    stderr: "null",
  }).outputSync();
  if (out.code > 1) throw new Error(`${args.join(" ")} exited ${out.code}`);
}

const opts = { n: 15, warmup: 2 };

Deno.bench(
  "deno run empty.ts",
  { group: "process", baseline: true, ...opts },
  () => {
    run(["run", "-A", "bench/empty.ts"]);
  },
);

// The floor every command pays: start-up (bench/startup.ts has the details).
Deno.bench("pmemctl --version", { group: "process", ...opts }, () => {
  run(["run", "-A", "cli.ts", "--version"]);
});

Deno.bench("pmemctl list (this machine)", { group: "process", ...opts }, () => {
  run(["run", "-A", "cli.ts", "list", "--json"]);
});

Deno.bench("pmemctl list --root fixtures/nfit+legacy", {
  group: "process",
  ...opts,
}, () => {
  run([
    "run",
    "-A",
    "cli.ts",
    "list",
    "--json",
    "--root",
    "tests/fixtures/nfit+legacy",
  ]);
});

Deno.bench("pmemctl list --root synthetic 1000 namespaces", {
  group: "process",
  ...opts,
}, () => {
  run(["run", "-A", "cli.ts", "list", "--json", "--root", trees.get(1000)!]);
});

for (const [n, dir] of trees) {
  Deno.bench(`gather+join+render ${n} namespaces, ${n * 10} iomem lines`, {
    group: "synthetic",
    baseline: n === 250,
    n: 10,
    warmup: 1,
  }, async () => {
    const { obs } = await gather({ root: dir });
    const result = joinRegions(obs);
    if (result.regions.length !== n) {
      throw new Error(`found ${result.regions.length} regions, expected ${n}`);
    }
    JSON.stringify(listDocument(result));
  });
}
