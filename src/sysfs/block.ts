/**
 * Persistent-memory block devices (`/sys/block/pmem*`) and device-DAX
 * character devices (`/sys/bus/dax/devices`).
 *
 * @module
 */

import { badblockCount, regionInPath } from "./nd.ts";
import type { SystemRoot } from "./root.ts";

/** One /sys/block/pmem* device. */
export interface PmemBlock {
  name: string;
  /** Bytes (the `size` attribute is in 512-byte sectors). */
  size: number;
  readOnly: boolean;
  /** `queue/dax`: mappings of files on it can bypass the page cache. */
  dax: boolean;
  badblockCount: number;
  major: number;
  minor: number;
  /** Whether /dev/NAME exists. */
  node: boolean;
  /** Its partitions (`pmem0p1`), in order. */
  partitions: PmemPartition[];
}

/** A partition of a pmem block device. */
export interface PmemPartition {
  name: string;
  /** Bytes from the device's start, and its size in bytes. */
  start: number;
  size: number;
  major: number;
  minor: number;
  node: boolean;
}

const devNumbers = (text: string | undefined) =>
  (text ?? "0:0").split(":").map(Number) as [number, number];

/** Every pmem block device under the root (pmem0, pmem1s, pmemlegacy0…). */
export function readPmemBlocks(sys: SystemRoot): PmemBlock[] {
  return sys.list("/sys/block").filter((n) => n.startsWith("pmem")).map(
    (name) => {
      const dir = `/sys/block/${name}`;
      const [major, minor] = (sys.attr(`${dir}/dev`) ?? "0:0").split(":").map(
        Number,
      );
      return {
        name,
        size: (sys.number(`${dir}/size`) ?? 0) * 512,
        readOnly: sys.attr(`${dir}/ro`) === "1",
        dax: sys.attr(`${dir}/queue/dax`) === "1",
        badblockCount: badblockCount(sys.text(`${dir}/badblocks`)),
        major,
        minor,
        node: sys.exists(`/dev/${name}`),
        partitions: sys.list(dir).filter((p) =>
          p.startsWith(name) && sys.exists(`${dir}/${p}/partition`)
        ).map((p) => {
          const [pmajor, pminor] = devNumbers(sys.attr(`${dir}/${p}/dev`));
          return {
            name: p,
            start: (sys.number(`${dir}/${p}/start`) ?? 0) * 512,
            size: (sys.number(`${dir}/${p}/size`) ?? 0) * 512,
            major: pmajor,
            minor: pminor,
            node: sys.exists(`/dev/${p}`),
          };
        }),
      };
    },
  );
}

/** One device-DAX instance. */
export interface DaxDevice {
  name: string;
  size: number;
  align?: number;
  targetNode?: number;
  numaNode?: number;
  /** The libnvdimm region it lives in, when it comes from one. */
  region?: string;
  /** The platform device it comes from (`hmem.0`: soft-reserved memory), when not a region. */
  platform?: string;
  /** Its physical address (`resource`, root only), for a platform device's. */
  start?: number;
  node: boolean;
  /** The driver bound to it: `device_dax`, or `kmem` for memory given to the kernel. */
  driver?: string;
  /** For kmem: its memory blocks (see {@link kmemBlocks}). */
  memory?: KmemBlocks;
}

/** The memory blocks of a kmem device-DAX. */
export interface KmemBlocks {
  total: number;
  online: number;
  /** Whether every online block is in ZONE_MOVABLE (false when none is online). */
  movable: boolean;
  /** The blocks not online (`memory40`), for the fix. */
  offline: string[];
}

/** A device-DAX bound to kmem: its memory given to the kernel as System RAM. */
export interface KmemDevice {
  name: string;
  /** Memory blocks of its range, and how many of them are online. */
  blocks: number;
  online: number;
  /** The offline blocks' names (`memory40`), for the fix. */
  offline: string[];
}

/** The device-DAX given to the kernel as System RAM, with their memory blocks (pure). */
export function kmemDevices(dax: DaxDevice[]): KmemDevice[] {
  return dax.filter((d) => d.driver === "kmem").map((d) => ({
    name: d.name,
    blocks: d.memory?.total ?? 0,
    online: d.memory?.online ?? 0,
    offline: d.memory?.offline ?? [],
  }));
}

/**
 * The memory blocks a kmem device-DAX covers (its `resource` and `size`,
 * memory blocks of `block_size_bytes`): how many, which are not online, and
 * whether every online one is in ZONE_MOVABLE (as `daxctl list` says).
 */
export function kmemBlocks(
  sys: SystemRoot,
  dir: string,
): KmemBlocks | undefined {
  const start = sys.number(`${dir}/resource`);
  const size = sys.number(`${dir}/size`) ?? 0;
  const text = sys.attr("/sys/devices/system/memory/block_size_bytes");
  const block = text ? parseInt(text.trim(), 16) : NaN;
  if (start === undefined || !Number.isSafeInteger(block) || block <= 0) {
    return undefined;
  }
  let total = 0, online = 0, movable = true;
  const offline: string[] = [];
  const last = Math.floor((start + size) / block) - 1;
  for (let n = Math.ceil(start / block); n <= last; n++) {
    const mem = `/sys/devices/system/memory/memory${n}`;
    const state = sys.attr(`${mem}/state`)?.trim();
    if (state === undefined) continue;
    total++;
    if (state !== "online") {
      offline.push(`memory${n}`);
      continue;
    }
    online++;
    if (!/^Movable\b/.test(sys.attr(`${mem}/valid_zones`) ?? "")) {
      movable = false;
    }
  }
  return { total, online, movable: online > 0 && movable, offline };
}

/** Every device-DAX instance under the root. */
export function readDaxDevices(sys: SystemRoot): DaxDevice[] {
  return sys.list("/sys/bus/dax/devices").map((name) => {
    const dir = `/sys/bus/dax/devices/${name}`;
    const real = sys.realPath(dir);
    const region = regionInPath(real);
    // 6.1: platform/hmem.0/dax0.0; 7.x: platform/hmem_platform.0/hmem.0/dax0.0.
    const platform = real?.match(/\/(hmem\.\d+)\/[^/]+$/)?.[1];
    const driver = sys.linkName(`${dir}/driver`);
    return {
      name,
      ...(platform ? { platform } : {}),
      ...(platform ? { start: sys.number(`${dir}/resource`) } : {}),
      size: sys.number(`${dir}/size`) ?? 0,
      align: sys.number(`${dir}/align`),
      targetNode: sys.number(`${dir}/target_node`),
      numaNode: sys.number(`${dir}/numa_node`),
      region,
      node: sys.exists(`/dev/${name}`),
      ...(driver ? { driver } : {}),
      ...(driver === "kmem" ? { memory: kmemBlocks(sys, dir) } : {}),
    };
  });
}
