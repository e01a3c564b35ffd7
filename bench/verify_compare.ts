/**
 * `pmemctl verify` against references, in one run, on tmpfs files:
 * destructive vs bench/fill_compare.c (gcc -O2, built here; same pattern),
 * scan vs `dd of=/dev/null bs=1M`, and peak memory from 256 MiB to 8 GiB.
 *
 * usage: deno task bench:verify
 */
import { median, timed } from "./timing.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const GiB = 2 ** 30;

const dir = Deno.makeTempDirSync({
  dir: "/dev/shm",
  prefix: "pmemctl-vbench-",
});
const bin = `${dir}/fill_compare`;
const pmemctl = `${Deno.execPath()} run -A cli.ts verify`;
const rows = [
  "| what | reference | pmemctl | ratio |",
  "| --- | --- | --- | --- |",
];
try {
  const cc = new Deno.Command("gcc", {
    args: ["-O2", "-o", bin, `${ROOT}bench/fill_compare.c`],
  }).outputSync();
  if (!cc.success) throw new Error(new TextDecoder().decode(cc.stderr));
  const file = `${dir}/f`;
  timed(`head -c ${GiB} /dev/zero > ${file}`);
  // The C program's fill is pmemctl's pattern: a check of its output must pass.
  timed(`${bin} ${file} 5`);
  const a: number[] = [];
  const b: number[] = [];
  const s: number[] = [];
  const d: number[] = [];
  for (let i = 0; i < 3; i++) {
    a.push(timed(`${bin} ${file} 5`).seconds);
    b.push(
      timed(`${pmemctl} ${file} --mode destructive --force --seed 5`).seconds,
    );
    d.push(timed(`dd if=${file} of=/dev/null bs=1M status=none`).seconds);
    s.push(timed(`${pmemctl} ${file} --mode scan`).seconds);
  }
  rows.push(
    `| destructive 1 GiB (fill, then compare) | C -O2 ${
      median(a).toFixed(2)
    } s | ${median(b).toFixed(2)} s | ${(median(b) / median(a)).toFixed(2)}× |`,
  );
  rows.push(
    `| scan 1 GiB | dd of=/dev/null ${median(d).toFixed(2)} s | ${
      median(s).toFixed(2)
    } s | ${(median(s) / median(d)).toFixed(2)}× |`,
  );
  const mem: string[] = [];
  for (const size of [256 * 2 ** 20, GiB, 8 * GiB]) {
    Deno.truncateSync(file, size);
    const scan = timed(`${pmemctl} ${file} --mode scan`).maxKiB;
    const destructive =
      timed(`${pmemctl} ${file} --mode destructive --force`).maxKiB;
    mem.push(
      `${size / 2 ** 20} MiB: scan ${(scan / 1024).toFixed(0)}, destructive ${
        (destructive / 1024).toFixed(0)
      }`,
    );
    Deno.truncateSync(file, 0);
  }
  rows.push(`| peak memory (MiB) | | ${mem.join("; ")} | target < 100 |`);
} finally {
  Deno.removeSync(dir, { recursive: true });
}
console.log(rows.join("\n"));
