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
}

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
  /** The libnvdimm region it lives in, when it comes from one. */
  region?: string;
  node: boolean;
}

/** Every device-DAX instance under the root. */
export function readDaxDevices(sys: SystemRoot): DaxDevice[] {
  return sys.list("/sys/bus/dax/devices").map((name) => {
    const dir = `/sys/bus/dax/devices/${name}`;
    const region = regionInPath(sys.realPath(dir));
    return {
      name,
      size: sys.number(`${dir}/size`) ?? 0,
      align: sys.number(`${dir}/align`),
      targetNode: sys.number(`${dir}/target_node`),
      region,
      node: sys.exists(`/dev/${name}`),
    };
  });
}
