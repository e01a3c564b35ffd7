/**
 * `pmemctl verify` against references and the machine's limit, in one run,
 * alternating, on tmpfs files:
 * - destructive (`--jobs 1` and `--jobs 2`) against bench/fill_compare.c
 *   in its two modes: `bandwidth` (a cheap offset-tagged word through one
 *   MAP_POPULATE mapping, each byte written once and read once) and
 *   pmemctl's own pattern;
 * - scan (`--jobs 1`, `--jobs 2`) against `dd of=/dev/null bs=1M`;
 * - the limit (bench/limit.c, same run): one thread's memset + read of the
 *   same bytes, and the page cache's pwrite + pread, against pmemctl's
 *   in-process time (the report's `seconds`) and its whole process;
 * - peak memory from 256 MiB to 8 GiB (64 GiB sparse for scan), with one
 *   thread and with two.
 *
 * Each figure is the median of ROUNDS (default 5) runs, with min and max;
 * the rows go to bench/RESULTS.md (bench/results.ts).
 *
 * usage: deno task bench:verify
 */
import { limitMeter, rate, share } from "./limit.ts";
import { record, type Row } from "./results.ts";
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
const rows: Row[] = [];
const ratio = (x: number[], y: number[]) =>
  `${(median(x) / median(y)).toFixed(2)}×`;

/** Runs a pmemctl verify with --json: whole-process and in-process seconds. */
function verifyRun(args: string): { wall: number; inside: number } {
  const t = timed(`${pmemctl} ${args} --json`);
  const report = JSON.parse(t.stdout);
  if (report.result !== "pass") throw new Error(`${args}: ${t.stdout}`);
  return { wall: t.seconds, inside: report.seconds };
}

try {
  const cc = new Deno.Command("gcc", {
    args: ["-O2", "-fopenmp", "-o", bin, `${ROOT}bench/fill_compare.c`],
  }).outputSync();
  if (!cc.success) throw new Error(new TextDecoder().decode(cc.stderr));
  const measureLimit = limitMeter(dir);
  const file = `${dir}/f`;
  timed(`head -c ${GiB} /dev/zero > ${file}`);
  // The C program's fill is pmemctl's pattern: a check of its output must pass.
  timed(`OMP_NUM_THREADS=1 ${bin} ${file} 5`);
  const l: number[] = [];
  const l2: number[] = [];
  const a: number[] = [];
  const b = { wall: [] as number[], inside: [] as number[] };
  const b2 = { wall: [] as number[], inside: [] as number[] };
  const s = { wall: [] as number[], inside: [] as number[] };
  const s2 = { wall: [] as number[], inside: [] as number[] };
  const d: number[] = [];
  const fill: number[] = [];
  const pc: number[] = [];
  const readLimit: number[] = [];
  const preadLimit: number[] = [];
  const destructive = `--mode destructive --force --seed 5`;
  const add = (to: { wall: number[]; inside: number[] }, args: string) => {
    const r = verifyRun(args);
    to.wall.push(r.wall);
    to.inside.push(r.inside);
  };
  for (let i = 0; i < ROUNDS; i++) {
    l.push(timed(`OMP_NUM_THREADS=1 ${bin} ${file} 5 bandwidth`).seconds);
    l2.push(timed(`OMP_NUM_THREADS=2 ${bin} ${file} 5 bandwidth`).seconds);
    a.push(timed(`OMP_NUM_THREADS=1 ${bin} ${file} 5`).seconds);
    add(b, `${file} ${destructive} --jobs 1`);
    add(b2, `${file} ${destructive} --jobs 2`);
    d.push(timed(`dd if=${file} of=/dev/null bs=1M status=none`).seconds);
    add(s, `${file} --mode scan --jobs 1`);
    add(s2, `${file} --mode scan --jobs 2`);
    // The limit, between the runs it bounds: memory, then the page cache.
    const m = measureLimit(GiB, file);
    fill.push(GiB / m.memset + GiB / m.read);
    pc.push(GiB / m.pwrite! + GiB / m.pread!);
    readLimit.push(GiB / m.read);
    preadLimit.push(GiB / m.pread!);
  }
  const secs = (xs: number[]) => `${median(xs).toFixed(3)} s`;
  rows.push(
    {
      what: "the limit: memset + read of 1 GiB, one thread (bench/limit.c)",
      pmemctl: "—",
      reference: `${secs(fill)} (read alone ${secs(readLimit)}, ${
        rate(GiB / median(readLimit))
      })`,
      ratio: "—",
    },
    {
      what:
        "the page cache's limit: pwrite + pread of 1 GiB on tmpfs, 16 MiB windows",
      pmemctl: "—",
      reference: `${secs(pc)} (pread alone ${secs(preadLimit)})`,
      ratio: "—",
    },
    {
      what: "`verify --mode destructive`, 1 GiB tmpfs, `--jobs 1`",
      pmemctl: spread(b.wall),
      reference: `\`fill_compare.c bandwidth\` ${spread(l)}`,
      ratio: ratio(b.wall, l),
    },
    {
      what: "`verify --mode destructive`, 1 GiB tmpfs, `--jobs 2`",
      pmemctl: spread(b2.wall),
      reference: `\`fill_compare.c bandwidth\`, one thread ${spread(l)}`,
      ratio: ratio(b2.wall, l),
    },
    {
      what: "`verify --mode destructive`, 1 GiB tmpfs, `--jobs 2`, two threads",
      pmemctl: spread(b2.wall),
      reference: `\`fill_compare.c bandwidth\`, two threads ${spread(l2)}`,
      ratio: ratio(b2.wall, l2),
    },
    {
      what:
        "`verify --mode destructive`, 1 GiB tmpfs, `--jobs 1`, pmemctl's pattern in C",
      pmemctl: spread(b.wall),
      reference: `\`fill_compare.c\` ${spread(a)}`,
      ratio: ratio(b.wall, a),
    },
  );
  for (const [jobs, r] of [[1, b], [2, b2]] as const) {
    rows.push({
      what:
        `\`verify --mode destructive\`, 1 GiB tmpfs, \`--jobs ${jobs}\`, against the limit`,
      pmemctl: `in process ${secs(r.inside)}, whole ${secs(r.wall)}`,
      reference: `memset + read ${secs(fill)}; pwrite + pread ${secs(pc)}`,
      ratio: `${
        share(median(fill), median(r.inside))
      } of memset + read in process, ${
        share(median(fill), median(r.wall))
      } whole; ${share(median(pc), median(r.inside))} of pwrite + pread`,
    });
  }
  for (const [jobs, r] of [[1, s], [2, s2]] as const) {
    rows.push({
      what: `\`verify --mode scan\`, 1 GiB tmpfs, \`--jobs ${jobs}\``,
      pmemctl: spread(r.wall),
      reference: `\`dd of=/dev/null bs=1M\` ${spread(d)}`,
      ratio: ratio(r.wall, d),
    }, {
      what:
        `\`verify --mode scan\`, 1 GiB tmpfs, \`--jobs ${jobs}\`, against the limit`,
      pmemctl: `in process ${secs(r.inside)}, whole ${secs(r.wall)}`,
      reference: `read ${secs(readLimit)}; pread ${secs(preadLimit)}`,
      ratio: `${
        share(median(readLimit), median(r.inside))
      } of read in process; ${
        share(median(preadLimit), median(r.inside))
      } of one thread's pread`,
    });
  }
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
    // A sparse 64 GiB file: scan reads its holes (tmpfs hands back zeros).
    Deno.truncateSync(file, 64 * GiB);
    const sparse = timed(`${pmemctl} ${file} --mode scan --jobs ${jobs}`);
    Deno.truncateSync(file, 0);
    mem.push(
      `64 GiB sparse: scan ${(sparse.maxKiB / 1024).toFixed(0)} (${
        sparse.seconds.toFixed(1)
      } s)`,
    );
    rows.push({
      what: `peak memory (MiB), \`--jobs ${jobs}\``,
      pmemctl: mem.join("; "),
      reference: `goal: < ${100 + 32 * jobs} MiB`,
      ratio: "—",
    });
  }
} finally {
  Deno.removeSync(dir, { recursive: true });
}
record(rows);
