/**
 * `pmemctl map` against its references, in one run:
 * - host: `map write`/`map read` of 1 GiB on tmpfs against `dd bs=1M`
 *   (alternating, medians of 5), and peak memory of 4 GiB transfers;
 * - guests (two vCPUs): `map write`/`map read` of 1 GiB on /dev/dax0.0
 *   against `daxio`, `map write` and `verify` (scan) against fio's dev-dax
 *   engine, 512 MiB of a file on ext4 mounted dax=always against fio's
 *   libpmem engine and `dd`, and 200 MiB on /dev/pmem0 against `dd` through the
 *   page cache and with O_DIRECT (alternating, medians of 3), with one
 *   thread and two, and the start-up both pay;
 * - the limit in the same run (bench/limit.c): one thread's memcpy of the
 *   same bytes, and the page cache's pwrite and pread, on the host; in the
 *   guests, memcpy under TCG.
 *
 * The rows go to bench/RESULTS.md (bench/results.ts).
 *
 * usage: deno run -A bench/map_compare.ts [--no-vm]
 */
import { runVm, vmUnavailable } from "../tests/vm/vm.ts";
import { limitMeter, rate, share } from "./limit.ts";
import { record, type Row } from "./results.ts";
import { median, spread, timed } from "./timing.ts";

const GiB = 2 ** 30;
const ROOT = new URL("../", import.meta.url).pathname;
const REPS = 5;

function hostBench(): Row[] {
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
    const rows: Row[] = [];
    const measureLimit = limitMeter(dir);
    for (const [name, dd, ours] of cases) {
      // dd, then pmemctl on one thread and on two, then the limit, alternating.
      const a: number[] = [];
      const b: number[][] = [[], []];
      const copy: number[] = [];
      const pc: number[] = [];
      for (let i = 0; i < REPS; i++) {
        a.push(timed(dd).seconds);
        b[0].push(timed(`${ours} --jobs 1`).seconds);
        b[1].push(timed(`${ours} --jobs 2`).seconds);
        const m = measureLimit(GiB, dst);
        copy.push(GiB / m.memcpy);
        pc.push(GiB / (name.startsWith("write") ? m.pwrite! : m.pread!));
      }
      const secs = (xs: number[]) => `${median(xs).toFixed(3)} s`;
      b.forEach((times, j) =>
        rows.push({
          what: `\`map ${name}\`, tmpfs, \`--jobs ${j + 1}\``,
          pmemctl: spread(times),
          reference: `\`dd bs=1M\` ${spread(a)}`,
          ratio: `${(median(times) / median(a)).toFixed(2)}×`,
        }, {
          what: `\`map ${name}\`, tmpfs, \`--jobs ${
            j + 1
          }\`, against the limit`,
          pmemctl: secs(times),
          reference: `memcpy ${secs(copy)} (${rate(GiB / median(copy))}); ${
            name.startsWith("write") ? "pwrite" : "pread"
          } ${secs(pc)}`,
          ratio: `${share(median(copy), median(times))} of memcpy, ${
            share(median(pc), median(times))
          } of ${name.startsWith("write") ? "pwrite" : "pread"}`,
        })
      );
    }
    Deno.removeSync(src);
    Deno.removeSync(out);
    Deno.truncateSync(dst, 4 * GiB);
    const write4 = timed(
      `head -c ${4 * GiB} /dev/zero | ${pmemctl} map write ${dst}`,
    );
    const read4 = timed(`${pmemctl} map read ${dst} > /dev/null`);
    // Two threads, file to file (a sparse input reads as zeros).
    Deno.writeFileSync(src, new Uint8Array(0));
    Deno.truncateSync(src, 4 * GiB);
    const jobs4 = timed(`${pmemctl} map write ${dst} --input ${src} --jobs 2`);
    Deno.removeSync(src);
    const empty = timed(`${Deno.execPath()} run -A bench/empty.ts`);
    const mib = (kib: number) => `${(kib / 1024).toFixed(0)} MiB`;
    rows.push({
      what:
        "peak memory, 4 GiB `map write` / `map read` (streams, one thread), `map write --jobs 2` file to file",
      pmemctl: `${mib(write4.maxKiB)} / ${mib(read4.maxKiB)}; ${
        mib(jobs4.maxKiB)
      }`,
      reference: `empty \`deno run\` ${
        mib(empty.maxKiB)
      }; goal < 100 MiB + 32 MiB per job`,
      ratio: "—",
    });
    return rows;
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

/**
 * Runs `cases` (name → shell command) alternating, `reps` times, in a
 * guest with two vCPUs after `setup`; their times in seconds by name.
 */
async function guestTimes(
  config: "nfit" | "legacy",
  setup: string,
  cases: [string, string][],
  reps: number,
  files: Record<string, Uint8Array> = {},
): Promise<Map<string, number[]>> {
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
    config,
    nvdimm,
    nvdimmMiB: 1152,
    memoryMiB: 4096,
    cpus: 2,
    timeoutSeconds: 1200,
    files,
    script: `set -e
# tmpfs holds half the RAM by default: too little for deno's cache and 2 GiB.
mount -o remount,size=3G /tmp
P="deno run -A --cached-only cli.ts"
t() { name=$1; shift; s=$(cut -d' ' -f1 /proc/uptime); "$@" >/dev/null 2>&1; e=$(cut -d' ' -f1 /proc/uptime); echo "@@ $name $s $e"; }
$P --version >/dev/null
${setup}
for i in $(seq ${reps}); do
${cases.map(([name, cmd]) => `  t ${name} ${cmd}`).join("\n")}
done
echo "@@done"
`,
  }).finally(() => Deno.removeSync(nvdimm));
  if (r.code !== 0 || !r.stdout.includes("@@done")) {
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
  // bench/limit.c's figures, as bytes per second.
  for (const m of r.stdout.matchAll(/^@@limit (\S+) (\d+)$/gm)) {
    times.set(`limit-${m[1]}`, [
      ...(times.get(`limit-${m[1]}`) ?? []),
      Number(m[2]),
    ]);
  }
  return times;
}

/** A guest time as a cell: the median, with every sample after it (TCG timings are noisy). */
function shown(times: Map<string, number[]>, k: string): string {
  return `${median(times.get(k)!).toFixed(2)} s (${
    times.get(k)!.map((x) => x.toFixed(2)).join(", ")
  })`;
}

/** Table rows of `ours` against `ref` from guest times. */
function guestRows(times: Map<string, number[]>): (
  what: string,
  ref: string,
  refName: string,
  ours: string,
) => Row {
  const t = (k: string) => median(times.get(k)!);
  const show = (k: string) => shown(times, k);
  return (what, ref, refName, ours) => ({
    what: `guest (TCG, 2 vCPUs): ${what}, against ${refName}`,
    pmemctl: show(ours),
    reference: `${refName} ${show(ref)}`,
    ratio: `${(t(ours) / t(ref)).toFixed(2)}×`,
  });
}

async function guestBench(): Promise<Row[]> {
  const reason = vmUnavailable();
  if (reason) {
    console.log(`guests skipped: ${reason}`);
    return [];
  }
  const size = GiB;
  // The limit in the guest: bench/limit.c, static, over 256 MiB (the guest's
  // 4 GiB hold the source, the copy and deno).
  const limitBin = Deno.makeTempFileSync({ prefix: "pmemctl-limit-" });
  const cc = new Deno.Command("gcc", {
    args: ["-O3", "-static", "-o", limitBin, `${ROOT}bench/limit.c`],
  }).outputSync();
  if (!cc.success) throw new Error(new TextDecoder().decode(cc.stderr));
  const limitFiles = { "/usr/local/bin/limit": Deno.readFileSync(limitBin) };
  Deno.removeSync(limitBin);
  /** fio's `rw` of `bytes` of `file` through `engine`, 2 MiB at a time. */
  const fio = (
    engine: "dev-dax" | "libpmem",
    file: string,
    rw: "read" | "write",
    bytes: number,
  ) =>
    `fio --name=${rw} --ioengine=${engine} --filename=${file} --rw=${rw} --bs=2m --size=${bytes} --thread`;
  // daxio writes over an existing output file and pmemctl truncates it:
  // both start from no file, so both allocate its pages.
  const dax = await guestTimes(
    "nfit",
    `ndctl create-namespace -f -e namespace0.0 -m devdax -a 2M >&2
head -c ${size} /dev/urandom > /tmp/src
# Warm up outside the timings: the first store to each NVDIMM page makes the
# host allocate its backing file.
daxio -i /tmp/src -o /dev/dax0.0 -l ${size} 2>/dev/null
chmod +x /usr/local/bin/limit
for i in 1 2 3; do /usr/local/bin/limit $((256 << 20)) 3 > /tmp/limit.out; sed 's/^/@@limit /' /tmp/limit.out; done`,
    [
      ["daxio-write", `daxio -i /tmp/src -o /dev/dax0.0 -l ${size}`],
      ["write-1", `$P map write /dev/dax0.0 --input /tmp/src --jobs 1`],
      ["write-2", `$P map write /dev/dax0.0 --input /tmp/src --jobs 2`],
      [
        "daxio-read",
        `sh -c "rm -f /tmp/out; daxio -i /dev/dax0.0 -o /tmp/out -l ${size}"`,
      ],
      [
        "read-1",
        `sh -c "rm -f /tmp/out; $P map read /dev/dax0.0 --length ${size} --output /tmp/out --jobs 1"`,
      ],
      [
        "read-2",
        `sh -c "rm -f /tmp/out; $P map read /dev/dax0.0 --length ${size} --output /tmp/out --jobs 2"`,
      ],
      [
        "verify-1",
        `$P verify /dev/dax0.0 --mode destructive --force --length ${size} --jobs 1`,
      ],
      // fio's dev-dax engine copies between its own buffer and the mapping
      // (libpmem's pmem_memcpy_persist), one 2 MiB block at a time: the
      // write has no input file to read, the read no output to write.
      ["fio-write", fio("dev-dax", "/dev/dax0.0", "write", size)],
      ["fio-read", fio("dev-dax", "/dev/dax0.0", "read", size)],
      ["scan-1", `$P verify /dev/dax0.0 --length ${size} --jobs 1`],
      ["deno-empty", "deno run -A --cached-only bench/empty.ts"],
      ["version", "$P --version"],
    ],
    3,
    limitFiles,
  );
  // A file on ext4 mounted dax=always (fsdax, struct pages in RAM): 512 MiB,
  // what the filesystem leaves room for, against fio's libpmem engine (which
  // maps the file and copies from or to its own buffer) and dd. Every writer
  // writes over the same file; daxio takes device-DAX only.
  const fileSize = 512 * 2 ** 20;
  const daxFile = await guestTimes(
    "nfit",
    `ndctl create-namespace -f -e namespace0.0 -m fsdax -M mem >&2
mkfs.ext4 -q -F -b 4096 /dev/pmem0
mkdir -p /mnt/p && mount -o dax=always /dev/pmem0 /mnt/p
head -c ${fileSize} /dev/urandom > /tmp/src
dd if=/tmp/src of=/mnt/p/f bs=1048576 conv=fsync 2>/dev/null`,
    [
      [
        "dd-write",
        `dd if=/tmp/src of=/mnt/p/f bs=1048576 conv=notrunc,fsync`,
      ],
      ["fio-write", fio("libpmem", "/mnt/p/f", "write", fileSize)],
      ["write-1", `$P map write /mnt/p/f --input /tmp/src --jobs 1`],
      ["fio-read", fio("libpmem", "/mnt/p/f", "read", fileSize)],
      ["scan-1", `$P verify /mnt/p/f --jobs 1`],
      [
        "dd-read",
        `sh -c "rm -f /tmp/out; dd if=/mnt/p/f of=/tmp/out bs=1048576"`,
      ],
      [
        "read-1",
        `sh -c "rm -f /tmp/out; $P map read /mnt/p/f --output /tmp/out --jobs 1"`,
      ],
    ],
    3,
  );
  // /dev/pmem0 of memmap=256M!1G: 200 MiB through the block device.
  const n = 200;
  const pmem = await guestTimes(
    "legacy",
    `head -c $((${n}*1048576)) /dev/urandom > /tmp/src`,
    [
      [
        "dd-write",
        `dd if=/tmp/src of=/dev/pmem0 bs=1048576 conv=fsync`,
      ],
      [
        "dd-direct-write",
        `dd if=/tmp/src of=/dev/pmem0 bs=1048576 oflag=direct conv=fsync`,
      ],
      ["write-1", `$P map write /dev/pmem0 --input /tmp/src --jobs 1`],
      ["write-2", `$P map write /dev/pmem0 --input /tmp/src --jobs 2`],
      [
        "dd-read",
        `sh -c "echo 3 > /proc/sys/vm/drop_caches; dd if=/dev/pmem0 of=/tmp/out bs=1048576 count=${n}"`,
      ],
      [
        "dd-direct-read",
        `dd if=/dev/pmem0 of=/tmp/out bs=1048576 count=${n} iflag=direct`,
      ],
      [
        "read-1",
        `$P map read /dev/pmem0 --length ${n}M --output /tmp/out --jobs 1`,
      ],
      [
        "read-2",
        `$P map read /dev/pmem0 --length ${n}M --output /tmp/out --jobs 2`,
      ],
    ],
    3,
  );
  const d = guestRows(dax);
  const p = guestRows(pmem);
  const f = guestRows(daxFile);
  const copy = size / median(dax.get("limit-memcpy")!);
  const limitRow = (what: string, ours: string): Row => ({
    what: `guest (TCG, 2 vCPUs): ${what}, against the limit`,
    pmemctl: `${median(dax.get(ours)!).toFixed(2)} s`,
    reference: `memcpy of 1 GiB under TCG ${copy.toFixed(2)} s (${
      rate(size / copy)
    }, bench/limit.c over 256 MiB)`,
    ratio: `${share(copy, median(dax.get(ours)!))} of memcpy`,
  });
  // One destructive pass stores and loads every byte once: memset + read.
  const setRead = size / median(dax.get("limit-memset")!) +
    size / median(dax.get("limit-read")!);
  const verifyRow: Row = {
    what:
      "guest (TCG, 2 vCPUs): `verify --mode destructive` 1 GiB, /dev/dax0.0, --jobs 1, against the limit",
    pmemctl: shown(dax, "verify-1"),
    reference: `memset + read of 1 GiB under TCG ${
      setRead.toFixed(2)
    } s (bench/limit.c over 256 MiB)`,
    ratio: `${share(setRead, median(dax.get("verify-1")!))} of memset + read`,
  };
  return [
    verifyRow,
    limitRow("write 1 GiB, /dev/dax0.0, --jobs 1", "write-1"),
    limitRow("write 1 GiB, /dev/dax0.0, --jobs 2", "write-2"),
    limitRow("read 1 GiB, /dev/dax0.0, --jobs 1", "read-1"),
    limitRow("read 1 GiB, /dev/dax0.0, --jobs 2", "read-2"),
    d("write 1 GiB, /dev/dax0.0, --jobs 1", "daxio-write", "daxio", "write-1"),
    d("write 1 GiB, /dev/dax0.0, --jobs 2", "daxio-write", "daxio", "write-2"),
    d("read 1 GiB, /dev/dax0.0, --jobs 1", "daxio-read", "daxio", "read-1"),
    d("read 1 GiB, /dev/dax0.0, --jobs 2", "daxio-read", "daxio", "read-2"),
    d(
      "write 1 GiB from a tmpfs file, /dev/dax0.0, --jobs 1",
      "fio-write",
      "fio dev-dax (from its own buffer)",
      "write-1",
    ),
    d(
      "`verify` (scan) 1 GiB, /dev/dax0.0, --jobs 1",
      "fio-read",
      "fio dev-dax read",
      "scan-1",
    ),
    d("start-up", "deno-empty", "deno run empty.ts", "version"),
    f(
      "write 512 MiB to a file on ext4 -o dax, --jobs 1",
      "dd-write",
      "dd conv=notrunc,fsync",
      "write-1",
    ),
    f(
      "write 512 MiB to a file on ext4 -o dax, --jobs 1",
      "fio-write",
      "fio libpmem (from its own buffer)",
      "write-1",
    ),
    f(
      "`verify` (scan) 512 MiB of a file on ext4 -o dax, --jobs 1",
      "fio-read",
      "fio libpmem read",
      "scan-1",
    ),
    f(
      "read 512 MiB of a file on ext4 -o dax into tmpfs, --jobs 1",
      "dd-read",
      "dd",
      "read-1",
    ),
    p(`write ${n} MiB, /dev/pmem0, --jobs 1`, "dd-write", "dd", "write-1"),
    p(`write ${n} MiB, /dev/pmem0, --jobs 2`, "dd-write", "dd", "write-2"),
    p(
      `write ${n} MiB, /dev/pmem0, --jobs 1`,
      "dd-direct-write",
      "dd oflag=direct",
      "write-1",
    ),
    p(`read ${n} MiB, /dev/pmem0, --jobs 1`, "dd-read", "dd", "read-1"),
    p(`read ${n} MiB, /dev/pmem0, --jobs 2`, "dd-read", "dd", "read-2"),
    p(
      `read ${n} MiB, /dev/pmem0, --jobs 1`,
      "dd-direct-read",
      "dd iflag=direct",
      "read-1",
    ),
  ];
}

const rows = hostBench();
if (!Deno.args.includes("--no-vm")) rows.push(...await guestBench());
record(rows);
