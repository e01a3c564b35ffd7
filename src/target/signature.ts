/**
 * Filesystem and swap signatures at the start of a device: what `map write`
 * will not overwrite without `--force`. Offsets are the formats' own
 * (as blkid knows them).
 *
 * @module
 */

/** Bytes from the start of the device to read before deciding. */
export const SIGNATURE_BYTES = 128 * 1024;

const ascii = (s: string) => new TextEncoder().encode(s);

const MAGICS: { name: string; offset: number; bytes: Uint8Array }[] = [
  { name: "ext2/3/4", offset: 1080, bytes: new Uint8Array([0x53, 0xef]) },
  { name: "xfs", offset: 0, bytes: ascii("XFSB") },
  { name: "btrfs", offset: 0x10040, bytes: ascii("_BHRfS_M") },
  { name: "swap", offset: 4096 - 10, bytes: ascii("SWAPSPACE2") },
  { name: "swap", offset: 4096 - 10, bytes: ascii("SWAP-SPACE") },
  {
    name: "LUKS",
    offset: 0,
    bytes: new Uint8Array([0x4c, 0x55, 0x4b, 0x53, 0xba, 0xbe]),
  },
  { name: "ntfs", offset: 3, bytes: ascii("NTFS    ") },
  { name: "vfat", offset: 0x52, bytes: ascii("FAT32   ") },
  { name: "vfat", offset: 0x36, bytes: ascii("FAT16   ") },
  { name: "vfat", offset: 0x36, bytes: ascii("FAT12   ") },
  { name: "LVM2", offset: 0x218, bytes: ascii("LVM2 001") },
  { name: "zfs", offset: 0, bytes: ascii("\x0c\xb1\xba\x00") },
];

/** The name of the filesystem or swap whose signature `head` starts with, or undefined. */
export function detectSignature(head: Uint8Array): string | undefined {
  for (const m of MAGICS) {
    if (head.length < m.offset + m.bytes.length) continue;
    if (m.bytes.every((b, i) => head[m.offset + i] === b)) return m.name;
  }
  return undefined;
}
