// SPDX-License-Identifier: GPL-2.0
/*
 * pmem_legacy: block devices over e820 type-12 ("Persistent Memory (legacy)")
 * ranges, for kernels without nd_e820/nd_pmem or where a range must go to a
 * simpler driver. Each claimed range becomes /dev/pmemlegacyN.
 *
 * With no parameter it claims every legacy range nothing else holds;
 * regions=SIZE@START[,SIZE@START...] (memparse syntax, as memmap=) names
 * ranges explicitly. Writes go through memcpy_flushcache(), so a bio is
 * durable once it completes; PREFLUSH and FUA add a store fence.
 *
 * A 2 MiB-aligned range also gets struct pages (memremap_pages, fsdax) and
 * a dax device, so filesystems mount it with -o dax and files on it map
 * with MAP_SYNC.
 *
 * Part of pmemctl (pmemctl kmod source DIR writes this file out).
 */

#include <linux/bio.h>
#include <linux/blkdev.h>
#include <linux/dax.h>
#include <linux/highmem.h>
#include <linux/io.h>
#include <linux/ioport.h>
#include <linux/kernel.h>
#include <linux/memremap.h>
#include <linux/module.h>
#include <linux/pfn_t.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/version.h>

#define DRV_NAME "pmem_legacy"
#define MAX_DEVICES 16

static char *regions;
module_param(regions, charp, 0444);
MODULE_PARM_DESC(regions, "SIZE@START[,SIZE@START...]: ranges to claim (default: every unclaimed legacy range)");

struct pmem_legacy {
	phys_addr_t start;
	resource_size_t size;
	struct resource *res;
	void *virt;
	struct gendisk *disk;
	int id;
	/* DAX, for 2 MiB-aligned ranges: struct pages and a dax device. */
	struct dev_pagemap pgmap;
	struct dax_device *dax_dev;
};

static struct pmem_legacy *devices[MAX_DEVICES];
static int ndevices;

/* Copies one bio segment to or from the range. */
static void pmem_legacy_copy(struct pmem_legacy *p, struct bio_vec *bv,
			     sector_t sector, bool write)
{
	void *mem = bvec_kmap_local(bv);
	void *pmem = p->virt + ((u64)sector << SECTOR_SHIFT);

	if (write)
		memcpy_flushcache(pmem, mem, bv->bv_len);
	else
		memcpy(mem, pmem, bv->bv_len);
	kunmap_local(mem);
}

static void pmem_legacy_submit_bio(struct bio *bio)
{
	struct pmem_legacy *p = bio->bi_bdev->bd_disk->private_data;
	bool write = op_is_write(bio_op(bio));
	struct bvec_iter iter;
	struct bio_vec bv;
	sector_t sector = bio->bi_iter.bi_sector;

	if (bio_op(bio) != REQ_OP_READ && bio_op(bio) != REQ_OP_WRITE &&
	    bio_op(bio) != REQ_OP_FLUSH) {
		bio_io_error(bio);
		return;
	}
	if (bio_end_sector(bio) > get_capacity(bio->bi_bdev->bd_disk)) {
		bio_io_error(bio);
		return;
	}
	bio_for_each_segment(bv, bio, iter) {
		pmem_legacy_copy(p, &bv, sector, write);
		sector += bv.bv_len >> SECTOR_SHIFT;
	}
	/* memcpy_flushcache() left the data on its way to memory; fence it. */
	if (write || (bio->bi_opf & (REQ_PREFLUSH | REQ_FUA)))
		wmb();
	bio_endio(bio);
}

static const struct block_device_operations pmem_legacy_fops = {
	.owner = THIS_MODULE,
	.submit_bio = pmem_legacy_submit_bio,
};

static long pmem_legacy_dax_direct_access(struct dax_device *dax_dev, pgoff_t pgoff,
					  long nr_pages, enum dax_access_mode mode,
					  void **kaddr, pfn_t *pfn)
{
	struct pmem_legacy *p = dax_get_private(dax_dev);
	resource_size_t offset = PFN_PHYS(pgoff);

	if (offset >= p->size)
		return -ERANGE;
	if (kaddr)
		*kaddr = p->virt + offset;
	if (pfn)
		*pfn = phys_to_pfn_t(p->start + offset, PFN_DEV | PFN_MAP);
	return PHYS_PFN(p->size - offset);
}

static int pmem_legacy_dax_zero_page_range(struct dax_device *dax_dev, pgoff_t pgoff,
					   size_t nr_pages)
{
	struct pmem_legacy *p = dax_get_private(dax_dev);
	void *addr = p->virt + PFN_PHYS(pgoff);
	size_t len = nr_pages << PAGE_SHIFT;

	if (PFN_PHYS(pgoff) + len > p->size)
		return -EIO;
	memset(addr, 0, len);
	dax_flush(dax_dev, addr, len);
	return 0;
}

static const struct dax_operations pmem_legacy_dax_ops = {
	.direct_access = pmem_legacy_dax_direct_access,
	.zero_page_range = pmem_legacy_dax_zero_page_range,
};

static bool pmem_legacy_dax_capable(struct pmem_legacy *p)
{
	return IS_ENABLED(CONFIG_FS_DAX) && IS_ALIGNED(p->start, SZ_2M) &&
	       IS_ALIGNED(p->size, SZ_2M);
}

static struct gendisk *pmem_legacy_alloc_disk(bool dax)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 11, 0)
	struct queue_limits lim = {
		.logical_block_size = 512,
		.physical_block_size = PAGE_SIZE,
		.features = BLK_FEAT_WRITE_CACHE | BLK_FEAT_FUA | BLK_FEAT_SYNCHRONOUS |
			    (dax ? BLK_FEAT_DAX : 0),
	};

	return blk_alloc_disk(&lim, NUMA_NO_NODE);
#else
	struct gendisk *disk = blk_alloc_disk(NUMA_NO_NODE);

	if (!disk)
		return ERR_PTR(-ENOMEM);
	blk_queue_logical_block_size(disk->queue, 512);
	blk_queue_physical_block_size(disk->queue, PAGE_SIZE);
	blk_queue_write_cache(disk->queue, true, true);
	blk_queue_flag_set(QUEUE_FLAG_NONROT, disk->queue);
	if (dax)
		blk_queue_flag_set(QUEUE_FLAG_DAX, disk->queue);
	return disk;
#endif
}

/* Claims [start, start+size) and makes it /dev/pmemlegacyN. */
static int pmem_legacy_add(phys_addr_t start, resource_size_t size)
{
	struct pmem_legacy *p;
	int err;

	if (ndevices >= MAX_DEVICES) {
		pr_warn(DRV_NAME ": [mem %pa size %pa] skipped: at most %d devices\n",
			&start, &size, MAX_DEVICES);
		return -ENOSPC;
	}
	p = kzalloc(sizeof(*p), GFP_KERNEL);
	if (!p)
		return -ENOMEM;
	p->start = start;
	p->size = size;
	p->id = ndevices;

	p->res = request_mem_region(start, size, DRV_NAME);
	if (!p->res) {
		pr_info(DRV_NAME ": [mem %#llx-%#llx] skipped: another driver holds it\n",
			(u64)start, (u64)(start + size - 1));
		err = -EBUSY;
		goto out_free;
	}
	if (pmem_legacy_dax_capable(p)) {
		/* struct pages for the range, so DAX mappings can pin them. */
		p->pgmap.type = MEMORY_DEVICE_FS_DAX;
		p->pgmap.range.start = start;
		p->pgmap.range.end = start + size - 1;
		p->pgmap.nr_range = 1;
		p->virt = memremap_pages(&p->pgmap, NUMA_NO_NODE);
		if (IS_ERR(p->virt)) {
			pr_info(DRV_NAME ": [mem %#llx-%#llx] without DAX: memremap_pages failed (%ld)\n",
				(u64)start, (u64)(start + size - 1), PTR_ERR(p->virt));
			p->virt = NULL;
			p->pgmap.type = 0;
		}
	}
	if (!p->virt)
		p->virt = memremap(start, size, MEMREMAP_WB);
	if (!p->virt) {
		pr_err(DRV_NAME ": [mem %#llx-%#llx] cannot be mapped\n",
		       (u64)start, (u64)(start + size - 1));
		err = -ENOMEM;
		goto out_release;
	}
	p->disk = pmem_legacy_alloc_disk(p->pgmap.type == MEMORY_DEVICE_FS_DAX);
	if (IS_ERR(p->disk)) {
		err = PTR_ERR(p->disk);
		goto out_unmap;
	}
	p->disk->fops = &pmem_legacy_fops;
	p->disk->private_data = p;
	snprintf(p->disk->disk_name, DISK_NAME_LEN, "pmemlegacy%d", p->id);
	set_capacity(p->disk, size >> SECTOR_SHIFT);
	if (p->pgmap.type == MEMORY_DEVICE_FS_DAX) {
		p->dax_dev = alloc_dax(p, &pmem_legacy_dax_ops);
		if (IS_ERR(p->dax_dev)) {
			err = PTR_ERR(p->dax_dev);
			p->dax_dev = NULL;
			goto out_put;
		}
		/* Stores reach the persistence domain without the page cache: MAP_SYNC is safe. */
		set_dax_synchronous(p->dax_dev);
		err = dax_add_host(p->dax_dev, p->disk);
		if (err)
			goto out_dax;
	}
	err = add_disk(p->disk);
	if (err)
		goto out_dax_host;

	devices[ndevices++] = p;
	pr_info(DRV_NAME ": [mem %#llx-%#llx] is /dev/%s%s\n",
		(u64)start, (u64)(start + size - 1), p->disk->disk_name,
		p->dax_dev ? " (DAX)" : "");
	return 0;

out_dax_host:
	if (p->dax_dev)
		dax_remove_host(p->disk);
out_dax:
	if (p->dax_dev) {
		kill_dax(p->dax_dev);
		put_dax(p->dax_dev);
	}
out_put:
	put_disk(p->disk);
out_unmap:
	if (p->pgmap.type == MEMORY_DEVICE_FS_DAX)
		memunmap_pages(&p->pgmap);
	else
		memunmap(p->virt);
out_release:
	release_mem_region(start, size);
out_free:
	kfree(p);
	return err;
}

static int pmem_legacy_found(struct resource *res, void *arg)
{
	pmem_legacy_add(res->start, resource_size(res));
	return 0; /* keep walking */
}

/* Parses regions= and claims each SIZE@START. */
static int pmem_legacy_add_param(void)
{
	char *list = kstrdup(regions, GFP_KERNEL), *cur, *item;
	int err = 0;

	if (!list)
		return -ENOMEM;
	cur = list;
	while ((item = strsep(&cur, ",")) != NULL) {
		char *p = item;
		u64 size, start;

		if (!*item)
			continue;
		size = memparse(p, &p);
		if (*p != '@' || !size) {
			pr_err(DRV_NAME ": regions=%s: '%s' is not SIZE@START\n", regions, item);
			err = -EINVAL;
			break;
		}
		start = memparse(p + 1, &p);
		if (*p) {
			pr_err(DRV_NAME ": regions=%s: '%s' is not SIZE@START\n", regions, item);
			err = -EINVAL;
			break;
		}
		pmem_legacy_add(start, size);
	}
	kfree(list);
	return err;
}

static void pmem_legacy_remove_all(void)
{
	while (ndevices > 0) {
		struct pmem_legacy *p = devices[--ndevices];

		if (p->dax_dev) {
			dax_remove_host(p->disk);
			kill_dax(p->dax_dev);
		}
		del_gendisk(p->disk);
		if (p->dax_dev)
			put_dax(p->dax_dev);
		put_disk(p->disk);
		if (p->pgmap.type == MEMORY_DEVICE_FS_DAX)
			memunmap_pages(&p->pgmap);
		else
			memunmap(p->virt);
		release_mem_region(p->start, p->size);
		kfree(p);
	}
}

static int __init pmem_legacy_init(void)
{
	int err = 0;

	if (regions && *regions)
		err = pmem_legacy_add_param();
	else
		walk_iomem_res_desc(IORES_DESC_PERSISTENT_MEMORY_LEGACY, IORESOURCE_MEM,
				    0, -1, NULL, pmem_legacy_found);
	if (err) {
		pmem_legacy_remove_all();
		return err;
	}
	if (ndevices == 0) {
		pr_err(DRV_NAME ": nothing to claim: no %s legacy persistent memory range\n",
		       regions && *regions ? "requested" : "unclaimed");
		return -ENODEV;
	}
	return 0;
}

static void __exit pmem_legacy_exit(void)
{
	pmem_legacy_remove_all();
}

module_init(pmem_legacy_init);
module_exit(pmem_legacy_exit);
MODULE_DESCRIPTION("Block devices over e820 type-12 (legacy) persistent memory");
MODULE_LICENSE("GPL");
