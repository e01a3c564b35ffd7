/**
 * Guest setups of the pmem shapes, shared by the shape tests and the
 * fixture captures.
 *
 * @module
 */

/** What each shape's guest sets up: a labelled NVDIMM with three named namespaces, partitions, XFS and per-file DAX. */
export const LABELLED_SETUP = `ndctl disable-region all >/dev/null
ndctl init-labels -f all >/dev/null
ndctl enable-region all >/dev/null
ndctl create-namespace -r region0 -s 640M -m fsdax -n alpha >/dev/null
ndctl create-namespace -r region0 -s 128M -m sector -n beta >/dev/null
ndctl create-namespace -r region0 -s 128M -m devdax -n gamma >/dev/null
printf 'label: gpt\\nsize=320M\\nsize=+\\n' | sfdisk -q /dev/pmem0
sleep 1
modprobe xfs
mkfs.xfs -q -f -m reflink=0 /dev/pmem0p1
mkdir -p /mnt/xfs /mnt/ext4
mount -o dax=always /dev/pmem0p1 /mnt/xfs
mkfs.ext4 -q -F -b 4096 /dev/pmem0p2
mount -o dax=inode /dev/pmem0p2 /mnt/ext4
touch /mnt/ext4/flagged /mnt/ext4/plain /mnt/xfs/file
xfs_io -c 'chattr +x' /mnt/ext4/flagged
truncate -s 4M /mnt/ext4/flagged /mnt/ext4/plain /mnt/xfs/file
# The flag takes effect when the inode is loaded again.
echo 2 > /proc/sys/vm/drop_caches`;

/** An NVDIMM namespace as device-DAX, given to the kernel as System RAM (kmem); `online` or not. */
export function systemRamSetup(online: boolean): string {
  return `ndctl create-namespace -f -e namespace0.0 -m devdax -a 2M >/dev/null
modprobe kmem
# Debian's 7.3 onlines hot-added memory itself (auto_online_blocks), and
# daxctl then refuses --no-online ("kernel policy will auto-online memory").
echo offline > /sys/devices/system/memory/auto_online_blocks
daxctl reconfigure-device --mode=system-ram${
    online ? "" : " --no-online"
  } dax0.0 >/dev/null`;
}
