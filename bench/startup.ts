/**
 * Start-up, as a person pays it: whole processes, run side by side and
 * alternating in one run, against `deno run` of an empty script. Targets
 * (issue 16): `pmemctl --version` ≤ 1.2×, `pmemctl list` on an empty
 * `--root` ≤ 1.5×, `bin/pmemctl --version` ≤ 1.3× the empty run; and the
 * program as the .deb ships it where no denort exists (tools/bundle.ts, run
 * as its /usr/bin/pmemctl runs it). Medians with min and max, in ms, as
 * rows of bench/RESULTS.md (bench/results.ts). Issue 28's goal for `list`:
 * ≤ 1.3×. Run with `deno task bench:startup`.
 */

import { bundle } from "../tools/bundle.ts";
import { record } from "./results.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const ROUNDS = Number(Deno.env.get("ROUNDS") ?? 21);

const empty = Deno.makeTempFileSync({ suffix: ".ts" });
Deno.writeTextFileSync(empty, "\n");
const tree = Deno.makeTempDirSync();
const bundled = Deno.makeTempDirSync({ prefix: "pmemctl-bundle-" });
globalThis.addEventListener("unload", () => {
  Deno.removeSync(empty);
  Deno.removeSync(tree, { recursive: true });
  Deno.removeSync(bundled, { recursive: true });
});
bundle(bundled);

const deno = Deno.execPath();
/** `list` on an empty tree, with nothing to read from the live system either. */
const list = [
  "list",
  "--root",
  tree,
  "--dmesg",
  "/dev/null",
  "--cmdline",
  "/dev/null",
];
/** The .deb's /usr/bin/pmemctl, with the bundle where the package puts it. */
const packaged = [
  "run",
  "-A",
  "--no-config",
  "--quiet",
  `${bundled}/pmemctl.js`,
];
const cases: [string, string, string[]][] = [
  ["empty deno run", deno, ["run", "-A", empty]],
  ["pmemctl --version", deno, ["run", "-A", `${ROOT}cli.ts`, "--version"]],
  ["pmemctl list (empty --root)", deno, [
    "run",
    "-A",
    `${ROOT}cli.ts`,
    ...list,
  ]],
  ["bin/pmemctl --version", `${ROOT}bin/pmemctl`, ["--version"]],
  ["bin/pmemctl list (empty --root)", `${ROOT}bin/pmemctl`, list],
  ["bundle --version", deno, [...packaged, "--version"]],
  ["bundle list (empty --root)", deno, [...packaged, ...list]],
];

function once(command: string, args: string[]): number {
  const t0 = performance.now();
  const out = new Deno.Command(command, {
    args,
    cwd: ROOT,
    stdout: "null",
    stderr: "null",
  }).outputSync();
  const ms = performance.now() - t0;
  if (out.code > 1) {
    throw new Error(`${command} ${args.join(" ")}: exit ${out.code}`);
  }
  return ms;
}

// Warm the module and npm caches first: a user's second call is the one that counts.
for (const [, command, args] of cases) once(command, args);
const samples = cases.map(() => [] as number[]);
for (let r = 0; r < ROUNDS; r++) {
  cases.forEach(([, command, args], i) => samples[i].push(once(command, args)));
}
const median = (xs: number[]) =>
  [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ms = (xs: number[]) =>
  `${median(xs).toFixed(1)} ms (${Math.min(...xs).toFixed(1)}–${
    Math.max(...xs).toFixed(1)
  })`;
const base = median(samples[0]);
record(
  cases.slice(1).map(([name], j) => {
    const i = j + 1;
    return {
      what: `start-up: \`${name}\` (${ROUNDS} rounds)`,
      pmemctl: ms(samples[i]),
      reference: `empty \`deno run\` ${ms(samples[0])}`,
      ratio: `${(median(samples[i]) / base).toFixed(2)}×`,
    };
  }),
);
