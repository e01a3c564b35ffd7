/**
 * `pmemctl map` against its references, in one run:
 * - host: `map write`/`map read` of 1 GiB on tmpfs against `dd bs=1M`
 *   (alternating, medians of 5), and peak memory of 4 GiB transfers;
 * - guest: `map write`/`map read` of 1 GiB on /dev/dax0.0 against `daxio`
 *   (alternating, medians of 3), and the start-up both pay.
 *
 * usage: deno run -A bench/map_compare.ts [--no-vm]
 */
import { runVm, vmUnavailable } from "../tests/vm/vm.ts";
import { median, spread, timed } from "./timing.ts";

const GiB = 2 ** 30;
const REPS = 5;

function hostBench(): string[] {
  const dir = Deno.makeTempDirSync({
    dir: "/dev/shm",
    prefix: "pmemctl-bench-",
  });
  const src = `${dir}/src`;
  const dst = `${dir}/dst`;
  const out = `${dir}/out`;
  const pmemctl = `${Deno.execPath()} run -A cli.ts`;
  try {
    timed(`head -c ${GiB} /dev/urandom > ${src} && cp ${src} ${dst}`);
    const cases: [string, string, string][] = [
      [
        "write 1 GiB",
        `dd if=${src} of=${dst} bs=1M conv=notrunc,fsync status=none`,
        `${pmemctl} map write ${dst} --input ${src}`,
      ],
      [
        "read 1 GiB",
        `dd if=${dst} of=${out} bs=1M status=none`,
        `${pmemctl} map read ${dst} --output ${out}`,
      ],
    ];
    const rows: string[] = [];
    for (const [name, dd, ours] of cases) {
      // dd, then pmemctl on one thread and on two, alternating.
      const a: number[] = [];
      const b: number[][] = [[], []];
      for (let i = 0; i < REPS; i++) {
        a.push(timed(dd).seconds);
        b[0].push(timed(`${ours} --jobs 1`).seconds);
        b[1].push(timed(`${ours} --jobs 2`).seconds);
      }
      b.forEach((times, j) =>
        rows.push(
          `| ${name}, tmpfs (host), --jobs ${j + 1} | dd bs=1M ${
            spread(a)
          } | pmemctl ${spread(times)} | ${
            (median(times) / median(a)).toFixed(2)
          }× dd's time |`,
        )
      );
    }
    Deno.removeSync(src);
    Deno.removeSync(out);
    Deno.truncateSync(dst, 4 * GiB);
    const write4 = timed(
      `head -c ${4 * GiB} /dev/zero | ${pmemctl} map write ${dst}`,
    );
    const read4 = timed(`${pmemctl} map read ${dst} > /dev/null`);
    const empty = timed(`${Deno.execPath()} run -A bench/empty.ts`);
    rows.push(
      `| peak memory, 4 GiB | deno run empty.ts ${
        (empty.maxKiB / 1024).toFixed(0)
      } MiB | write ${(write4.maxKiB / 1024).toFixed(0)} MiB, read ${
        (read4.maxKiB / 1024).toFixed(0)
      } MiB | target < 100 MiB |`,
    );
    return rows;
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

async function guestBench(): Promise<string[]> {
  const reason = vmUnavailable();
  if (reason) return [`| /dev/dax0.0 (guest) | skipped: ${reason} | | |`];
  const size = GiB;
  // A 1152 MiB NVDIMM leaves a device-DAX of more than 1 GiB after the
  // struct-page reserve; 4 GiB of guest RAM hold the source and the copy.
  // Its backing file lives in host tmpfs: on disk, the host's writeback of
  // the dirtied file throttles the guest (seen: 4 s or 38 s for one write).
  const nvdimm = Deno.makeTempFileSync({
    dir: "/dev/shm",
    prefix: "pmemctl-bench-nvdimm-",
  });
  Deno.truncateSync(nvdimm, 1152 * 2 ** 20);
  const r = await runVm({
    config: "nfit",
    nvdimm,
    nvdimmMiB: 1152,
    memoryMiB: 4096,
    timeoutSeconds: 1200,
    script: `set -e
# tmpfs holds half the RAM by default: too little for deno's cache and 2 GiB.
mount -o remount,size=3G /tmp
ndctl create-namespace -f -e namespace0.0 -m devdax -a 2M >&2
head -c ${size} /dev/urandom > /tmp/src
P="deno run -A --cached-only cli.ts"
t() { name=$1; shift; s=$(cut -d' ' -f1 /proc/uptime); "$@" >/dev/null 2>&1; e=$(cut -d' ' -f1 /proc/uptime); echo "@@ $name $s $e"; }
# Warm up outside the timings: the first store to each NVDIMM page makes the
# host allocate its backing file, and deno's first run fills its code cache.
daxio -i /tmp/src -o /dev/dax0.0 -l ${size} 2>/dev/null
$P --version >/dev/null
for i in 1 2 3; do
  t daxio-write daxio -i /tmp/src -o /dev/dax0.0 -l ${size}
  t pmemctl-write $P map write /dev/dax0.0 --input /tmp/src
  # daxio writes over an existing output file and pmemctl truncates it: both
  # start from no file, so both allocate its pages.
  rm -f /tmp/out; t daxio-read daxio -i /dev/dax0.0 -o /tmp/out -l ${size}
  rm -f /tmp/out; t pmemctl-read $P map read /dev/dax0.0 --length ${size} --output /tmp/out
  t deno-empty deno run -A --cached-only bench/empty.ts
  t pmemctl-version $P --version
done
cmp /tmp/src /tmp/out && echo "@@same"
`,
  }).finally(() => Deno.removeSync(nvdimm));
  if (r.code !== 0 || !r.stdout.includes("@@same")) {
    throw new Error(
      `guest bench failed:\n${r.stdout.slice(-2000)}\n${
        r.console.split("\n").slice(-20).join("\n")
      }`,
    );
  }
  const times = new Map<string, number[]>();
  for (const m of r.stdout.matchAll(/^@@ (\S+) ([\d.]+) ([\d.]+)$/gm)) {
    times.set(m[1], [...(times.get(m[1]) ?? []), Number(m[3]) - Number(m[2])]);
  }
  const t = (k: string) => median(times.get(k)!);
  // Medians, with every sample after them: TCG timings are noisy.
  const show = (k: string) =>
    `${t(k).toFixed(2)} s (${
      times.get(k)!.map((x) => x.toFixed(2)).join(", ")
    })`;
  const row = (what: string, ref: string, ours: string) =>
    `| ${what} 1 GiB, /dev/dax0.0 (guest, TCG) | daxio ${show(ref)} | pmemctl ${
      show(ours)
    } | ${(t(ours) / t(ref)).toFixed(2)}× daxio's time |`;
  return [
    row("write", "daxio-write", "pmemctl-write"),
    row("read", "daxio-read", "pmemctl-read"),
    `| start-up (guest, TCG) | deno run empty.ts ${
      show("deno-empty")
    } | pmemctl --version ${show("pmemctl-version")} | included above |`,
  ];
}

const rows = [
  "| transfer | reference | pmemctl | ratio |",
  "| --- | --- | --- | --- |",
  ...hostBench(),
];
if (!Deno.args.includes("--no-vm")) rows.push(...await guestBench());
console.log(rows.join("\n"));
