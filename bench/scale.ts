/**
 * How `pmemctl list` grows with the machine: whole processes on synthetic
 * `--root` trees (bench/synthetic_tree.ts) of 1,000 and 10,000 namespaces
 * with 10,000 and 100,000 /proc/iomem ranges, time and peak memory, medians
 * of ROUNDS (default 3), shown as growth ratios (10× the input: linear is
 * 10× the time; flat memory is 1×). verify's scale (64 GiB sparse) is in
 * bench/verify_compare.ts. The rows go to bench/RESULTS.md.
 *
 * usage: deno task bench:scale
 */
import { makeTree } from "./synthetic_tree.ts";
import { record } from "./results.ts";
import { median, timed } from "./timing.ts";

const ROUNDS = Number(Deno.env.get("ROUNDS") ?? 3);
const sizes = [[1_000, 10_000], [10_000, 100_000]] as const;
const dirs = sizes.map(([n, lines]) => {
  const dir = Deno.makeTempDirSync({ prefix: `pmemctl-scale-${n}-` });
  makeTree(dir, n, lines);
  return dir;
});
try {
  const pmemctl = `${Deno.execPath()} run -A cli.ts list --json --root`;
  const empty = timed(`${Deno.execPath()} run -A bench/empty.ts`);
  const seconds = sizes.map(() => [] as number[]);
  const kib = sizes.map(() => [] as number[]);
  for (let r = 0; r < ROUNDS; r++) {
    dirs.forEach((dir, i) => {
      const t = timed(`${pmemctl} ${dir} > /dev/null`);
      seconds[i].push(t.seconds);
      kib[i].push(t.maxKiB);
    });
  }
  const s = seconds.map(median);
  const m = kib.map(median);
  const mib = (k: number) => `${(k / 1024).toFixed(0)} MiB`;
  record([
    {
      what:
        "scale: `list --root`, 1,000 → 10,000 namespaces, 10,000 → 100,000 iomem ranges, time",
      pmemctl: `${s[0].toFixed(2)} s → ${s[1].toFixed(2)} s`,
      reference: "linear: 10× the time",
      ratio: `${(s[1] / s[0]).toFixed(1)}×`,
    },
    {
      what: "scale: the same, peak memory",
      pmemctl: `${mib(m[0])} → ${mib(m[1])}`,
      reference: `empty \`deno run\` ${mib(empty.maxKiB)}; goal < 100 MiB`,
      ratio: `${(m[1] / m[0]).toFixed(2)}×`,
    },
  ]);
} finally {
  for (const dir of dirs) Deno.removeSync(dir, { recursive: true });
}
