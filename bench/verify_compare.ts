/**
 * `pmemctl verify` against references, in one run, alternating, on tmpfs
 * files: destructive (`--jobs 1` and `--jobs 2`) vs bench/fill_compare.c
 * in its two modes: `bandwidth` (the memory's limit: one MAP_POPULATE
 * mapping, a cheap offset-tagged word, each byte written once and read
 * once, one thread) and pmemctl's own pattern; scan (`--jobs 1`, `--jobs 2`)
 * vs `dd of=/dev/null bs=1M`; peak memory from 256 MiB to 8 GiB, with one
 * thread and with two. Each figure is the median of ROUNDS (default 5) runs,
 * with min and max.
 *
 * usage: deno task bench:verify
 */
import { median, spread, timed } from "./timing.ts";

const ROUNDS = Number(Deno.env.get("ROUNDS") ?? 5);

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
    args: ["-O2", "-fopenmp", "-o", bin, `${ROOT}bench/fill_compare.c`],
  }).outputSync();
  if (!cc.success) throw new Error(new TextDecoder().decode(cc.stderr));
  const file = `${dir}/f`;
  timed(`head -c ${GiB} /dev/zero > ${file}`);
  // The C program's fill is pmemctl's pattern: a check of its output must pass.
  timed(`OMP_NUM_THREADS=1 ${bin} ${file} 5`);
  const a: number[] = [];
  const l: number[] = [];
  const l2: number[] = [];
  const b: number[] = [];
  const b2: number[] = [];
  const s: number[] = [];
  const s2: number[] = [];
  const d: number[] = [];
  const destructive = `--mode destructive --force --seed 5`;
  for (let i = 0; i < ROUNDS; i++) {
    l.push(timed(`OMP_NUM_THREADS=1 ${bin} ${file} 5 bandwidth`).seconds);
    l2.push(timed(`OMP_NUM_THREADS=2 ${bin} ${file} 5 bandwidth`).seconds);
    a.push(timed(`OMP_NUM_THREADS=1 ${bin} ${file} 5`).seconds);
    b.push(timed(`${pmemctl} ${file} ${destructive} --jobs 1`).seconds);
    b2.push(timed(`${pmemctl} ${file} ${destructive} --jobs 2`).seconds);
    d.push(timed(`dd if=${file} of=/dev/null bs=1M status=none`).seconds);
    s.push(timed(`${pmemctl} ${file} --mode scan --jobs 1`).seconds);
    s2.push(timed(`${pmemctl} ${file} --mode scan --jobs 2`).seconds);
  }
  const ratio = (x: number[], y: number[]) =>
    `${(median(x) / median(y)).toFixed(2)}×`;
  rows.push(
    `| destructive 1 GiB (fill, then compare), --jobs 1 | fill_compare.c bandwidth ${
      spread(l)
    } | ${spread(b)} | ${ratio(b, l)} |`,
    `| destructive 1 GiB, --jobs 2 | fill_compare.c bandwidth ${spread(l)} | ${
      spread(b2)
    } | ${ratio(b2, l)} |`,
    `| destructive 1 GiB, --jobs 2 | fill_compare.c bandwidth, 2 threads ${
      spread(l2)
    } | ${spread(b2)} | ${ratio(b2, l2)} |`,
    `| destructive 1 GiB, --jobs 1 | fill_compare.c (pmemctl's pattern) ${
      spread(a)
    } | ${spread(b)} | ${ratio(b, a)} |`,
    `| scan 1 GiB, --jobs 1 | dd of=/dev/null ${spread(d)} | ${spread(s)} | ${
      ratio(s, d)
    } |`,
    `| scan 1 GiB, --jobs 2 | dd of=/dev/null ${spread(d)} | ${spread(s2)} | ${
      ratio(s2, d)
    } |`,
  );
  for (const jobs of [1, 2]) {
    const mem: string[] = [];
    for (const size of [256 * 2 ** 20, GiB, 8 * GiB]) {
      Deno.truncateSync(file, size);
      const scan =
        timed(`${pmemctl} ${file} --mode scan --jobs ${jobs}`).maxKiB;
      const fill = timed(
        `${pmemctl} ${file} --mode destructive --force --jobs ${jobs}`,
      ).maxKiB;
      mem.push(
        `${size / 2 ** 20} MiB: scan ${(scan / 1024).toFixed(0)}, destructive ${
          (fill / 1024).toFixed(0)
        }`,
      );
      Deno.truncateSync(file, 0);
    }
    rows.push(
      `| peak memory (MiB), --jobs ${jobs} | | ${mem.join("; ")} | target < ${
        100 + (jobs > 1 ? 32 * jobs : 0)
      } |`,
    );
  }
} finally {
  Deno.removeSync(dir, { recursive: true });
}
console.log(rows.join("\n"));
