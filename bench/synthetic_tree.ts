/**
 * A synthetic `--root` tree as large as a big pmem machine: N e820 regions,
 * one fsdax namespace and /dev/pmemN each, laid out like sysfs (device lists
 * as links into sys/devices), with a matching /proc/iomem padded to
 * `iomemLines`, kernel log and command line.
 *
 * @module
 */

const MiB = 2 ** 20;

/** Writes the tree under `dir`. */
export function makeTree(
  dir: string,
  namespaces: number,
  iomemLines: number,
): void {
  const w = (path: string, text: string) => {
    Deno.mkdirSync(`${dir}/${path}`.replace(/\/[^/]*$/, ""), {
      recursive: true,
    });
    Deno.writeTextFileSync(`${dir}/${path}`, text);
  };
  const link = (path: string, target: string) => {
    Deno.mkdirSync(`${dir}/${path}`.replace(/\/[^/]*$/, ""), {
      recursive: true,
    });
    Deno.symlinkSync(target, `${dir}/${path}`);
  };
  const bus = "sys/devices/platform/e820_pmem/ndbus0";
  w(`${bus}/provider`, "e820\n");
  link(
    "sys/bus/nd/devices/ndbus0",
    "../../../devices/platform/e820_pmem/ndbus0",
  );
  const iomem: string[] = [
    "00000000-00000fff : Reserved",
    "00001000-0009fbff : System RAM",
  ];
  const e820: string[] = ["[    0.000000] BIOS-provided physical RAM map:"];
  const user: string[] = ["[    0.000000] user-defined physical RAM map:"];
  const memmap: string[] = [];
  for (let i = 0; i < namespaces; i++) {
    const start = 2 ** 32 + i * 16 * MiB;
    const end = start + 16 * MiB - 1;
    const region = `${bus}/region${i}`;
    const ns = `${region}/namespace${i}.0`;
    w(`${region}/size`, `${16 * MiB}\n`);
    w(`${region}/resource`, `0x${start.toString(16)}\n`);
    w(`${region}/align`, "0x1000000\n");
    w(`${ns}/size`, `${16 * MiB}\n`);
    w(`${ns}/mode`, "memory\n");
    w(`${ns}/resource`, `0x${start.toString(16)}\n`);
    w(`${ns}/holder`, "\n");
    w(`${ns}/block/pmem${i}/size`, `${(16 * MiB) / 512}\n`);
    w(`${ns}/block/pmem${i}/dev`, `259:${i}\n`);
    w(`${ns}/block/pmem${i}/ro`, "0\n");
    w(`${ns}/block/pmem${i}/queue/dax`, "1\n");
    w(`${ns}/block/pmem${i}/badblocks`, "");
    link(
      `sys/bus/nd/devices/region${i}`,
      `../../../devices/platform/e820_pmem/ndbus0/region${i}`,
    );
    link(
      `sys/bus/nd/devices/namespace${i}.0`,
      `../../../devices/platform/e820_pmem/ndbus0/region${i}/namespace${i}.0`,
    );
    link(
      `sys/block/pmem${i}`,
      `../devices/platform/e820_pmem/ndbus0/region${i}/namespace${i}.0/block/pmem${i}`,
    );
    w(`dev/pmem${i}`, `block 259:${i}\n`);
    const hex = (n: number) => n.toString(16).padStart(16, "0");
    iomem.push(
      `${start.toString(16)}-${end.toString(16)} : Persistent Memory (legacy)`,
    );
    iomem.push(`  ${start.toString(16)}-${end.toString(16)} : namespace${i}.0`);
    user.push(
      `[    0.000000] user: [mem 0x${hex(start)}-0x${
        hex(end)
      }] persistent (type 12)`,
    );
    memmap.push(`16M!0x${start.toString(16)}`);
  }
  e820.push(
    "[    0.000000] BIOS-e820: [mem 0x0000000000000000-0x000000000009fbff] usable",
  );
  for (let i = iomem.length; i < iomemLines; i++) {
    iomem.push(
      `  ${(0x100000 + i * 16).toString(16)}-${
        (0x100000 + i * 16 + 15).toString(16)
      } : System RAM`,
    );
  }
  w("proc/iomem", iomem.join("\n") + "\n");
  w("proc/cmdline", `ro memmap=${memmap.join(",")}\n`);
  w("proc/self/mountinfo", "1 1 0:2 / / rw - rootfs rootfs rw\n");
  w("dmesg.txt", [...e820, ...user].join("\n") + "\n");
}

if (import.meta.main) {
  const [dir, n, lines] = Deno.args;
  makeTree(dir, Number(n), Number(lines));
}
