// SPDX-License-Identifier: GPL-2.0
/*
 * pmem_legacy: block devices over e820 type-12 ("Persistent Memory (legacy)")
 * ranges, for kernels without nd_e820/nd_pmem or where a range must go to a
 * simpler driver. Each claimed range becomes /dev/pmemlegacyN.
 *
 * With no parameter it claims every legacy range nothing else holds;
 * regions=SIZE@START[,SIZE@START...] (memparse syntax, as memmap=) names
 * ranges explicitly, each of which must lie inside a legacy range.
 *
 * As drivers/nvdimm/pmem.c does: reads go through copy_mc_to_kernel(), so a
 * poisoned line is an I/O error instead of a machine check in the kernel;
 * each disk keeps a bad-block list (/sys/block/pmemlegacyN/badblocks,
 * writable to inject entries) that reads, writes and DAX honour. Writes go
 * through memcpy_flushcache(), so a bio is durable once it completes;
 * PREFLUSH and FUA add a store fence.
 *
 * A 2 MiB-aligned range also gets struct pages (memremap_pages, fsdax) and
 * a dax device, so filesystems mount it with -o dax and files on it map
 * with MAP_SYNC. The dax device is set up as pmem.c sets up its own:
 * non-temporal copies for write(2), machine-check-safe ones for read(2), a
 * write cache that fsync flushes, bad blocks honoured when a filesystem
 * zeroes pages, and memory failures passed on to the filesystem.
 *
 * Builds for Linux 6.1 to 7.3. API changes are handled by Kbuild feature
 * probes (see Kbuild), since Debian's and others' backports make version
 * numbers lie, and by LINUX_VERSION_CODE where a change came with a release.
 *
 * Part of pmemctl (pmemctl kmod source DIR writes this file out).
 */

#include <linux/badblocks.h>
#include <linux/bio.h>
#include <linux/blkdev.h>
#include <linux/dax.h>
#include <linux/highmem.h>
#include <linux/io.h>
#include <linux/ioport.h>
#include <linux/kernel.h>
#include <linux/list.h>
#include <linux/memremap.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <linux/version.h>
#ifdef PMEM_LEGACY_HAVE_PFN_T
/* pfn_t and this header left the kernel in the 6.17 cycle ("mm: remove pfn_t"). */
#include <linux/pfn_t.h>
#endif

#define DRV_NAME "pmem_legacy"

static char *regions;
module_param(regions, charp, 0444);
MODULE_PARM_DESC(regions, "SIZE@START[,SIZE@START...]: ranges to claim (default: every unclaimed legacy range)");

/*
 * badblocks_check() counts in sector_t since the 6.15-era badblocks rework
 * (before: int); PMEM_LEGACY_BB_SECTOR_T comes from a probe of the header.
 */
#ifdef PMEM_LEGACY_BB_SECTOR_T
typedef sector_t bb_count_t;
#else
typedef int bb_count_t;
#endif

struct pmem_legacy {
	struct list_head list;
	phys_addr_t start;
	resource_size_t size;
	struct resource *res;
	void *virt;
	struct gendisk *disk;
	bool disk_added;
	int id;
	struct badblocks bb;
	bool bb_ready;
	/* DAX, for 2 MiB-aligned ranges: struct pages and a dax device. */
	struct dev_pagemap pgmap;
	struct dax_device *dax_dev;
	bool dax_host;
};

static LIST_HEAD(devices);
static int next_id;

/* Whether [sector, sector + len bytes) holds a known bad block. */
static bool pmem_legacy_is_bad(struct pmem_legacy *p, sector_t sector,
			       unsigned int len)
{
	sector_t first_bad;
	bb_count_t num_bad;

	return p->bb.count &&
	       badblocks_check(&p->bb, sector, DIV_ROUND_UP(len, SECTOR_SIZE),
			       &first_bad, &num_bad) != 0;
}

/*
 * Copies one bio segment to or from the range. Reads fail on a known bad
 * block, and on poison that copy_mc_to_kernel() meets (it stops instead of
 * raising a machine check). Writes over a known bad block fail too: legacy
 * memory has no firmware call to clear poison (pmem.c's e820 bus has none
 * either, and fails such writes the same way).
 */
static blk_status_t pmem_legacy_copy(struct pmem_legacy *p, struct bio_vec *bv,
				     sector_t sector, bool write)
{
	void *pmem = p->virt + ((u64)sector << SECTOR_SHIFT);
	blk_status_t status = BLK_STS_OK;
	void *mem;

	if (pmem_legacy_is_bad(p, sector, bv->bv_len))
		return BLK_STS_IOERR;
	mem = bvec_kmap_local(bv);
	if (write)
		memcpy_flushcache(pmem, mem, bv->bv_len);
	else if (copy_mc_to_kernel(mem, pmem, bv->bv_len))
		status = BLK_STS_IOERR;
	kunmap_local(mem);
	return status;
}

static void pmem_legacy_submit_bio(struct bio *bio)
{
	struct pmem_legacy *p = bio->bi_bdev->bd_disk->private_data;
	bool write = op_is_write(bio_op(bio));
	struct bvec_iter iter;
	struct bio_vec bv;
	sector_t sector = bio->bi_iter.bi_sector;
	blk_status_t status;

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
		status = pmem_legacy_copy(p, &bv, sector, write);
		if (status != BLK_STS_OK) {
			bio->bi_status = status;
			break;
		}
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

#ifdef PMEM_LEGACY_HAVE_PFN_T
typedef pfn_t dax_pfn_t;
#define PMEM_LEGACY_PFN(phys) phys_to_pfn_t(phys, PFN_DEV | PFN_MAP)
#else
typedef unsigned long dax_pfn_t;
#define PMEM_LEGACY_PFN(phys) PHYS_PFN(phys)
#endif

/* As pmem.c: a range holding a known bad block is refused (-EHWPOISON). */
static long pmem_legacy_dax_direct_access(struct dax_device *dax_dev, pgoff_t pgoff,
					  long nr_pages, enum dax_access_mode mode,
					  void **kaddr, dax_pfn_t *pfn)
{
	struct pmem_legacy *p = dax_get_private(dax_dev);
	resource_size_t offset = PFN_PHYS(pgoff);
	long avail;

	if (offset >= p->size)
		return -ERANGE;
	avail = PHYS_PFN(p->size - offset);
	if (p->bb.count &&
	    pmem_legacy_is_bad(p, offset >> SECTOR_SHIFT,
			       min_t(u64, (u64)nr_pages << PAGE_SHIFT, p->size - offset)))
		return -EHWPOISON;
	if (kaddr)
		*kaddr = p->virt + offset;
	if (pfn)
		*pfn = PMEM_LEGACY_PFN(p->start + offset);
	return avail;
}

/*
 * Zeroes pages for a filesystem: with non-temporal stores, as block writes,
 * and refused over a known bad block as they are (no firmware call clears
 * poison on legacy memory).
 */
static int pmem_legacy_dax_zero_page_range(struct dax_device *dax_dev, pgoff_t pgoff,
					   size_t nr_pages)
{
	struct pmem_legacy *p = dax_get_private(dax_dev);
	u64 offset = PFN_PHYS(pgoff);
	size_t len = nr_pages << PAGE_SHIFT, done;

	if (offset + len > p->size)
		return -EIO;
	if (pmem_legacy_is_bad(p, offset >> SECTOR_SHIFT, len))
		return -EIO;
	for (done = 0; done < len; done += PAGE_SIZE)
		memcpy_flushcache(p->virt + offset + done, page_address(ZERO_PAGE(0)),
				  PAGE_SIZE);
	wmb();
	return 0;
}

static const struct dax_operations pmem_legacy_dax_ops = {
	.direct_access = pmem_legacy_dax_direct_access,
	.zero_page_range = pmem_legacy_dax_zero_page_range,
};

/*
 * A machine check in the range (memory_failure()): the filesystem that
 * holds the pages hears of it, as pmem.c's fsdax_pagemap_ops arrange, so it
 * can kill the processes that map the file; without a dax device yet, the
 * kernel's generic handler does.
 */
static int pmem_legacy_memory_failure(struct dev_pagemap *pgmap, unsigned long pfn,
				      unsigned long nr_pages, int mf_flags)
{
	struct pmem_legacy *p = container_of(pgmap, struct pmem_legacy, pgmap);

	if (!p->dax_dev)
		return -EOPNOTSUPP;
	return dax_holder_notify_failure(p->dax_dev, PFN_PHYS(pfn) - p->start,
					 (u64)nr_pages << PAGE_SHIFT, mf_flags);
}

static const struct dev_pagemap_ops pmem_legacy_pagemap_ops = {
	.memory_failure = pmem_legacy_memory_failure,
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

/*
 * Releases what pmem_legacy_add() took, in reverse order: the one release
 * path, for a device half made (add's errors) and a whole one (unload).
 */
static void pmem_legacy_release(struct pmem_legacy *p)
{
	if (p->dax_host)
		dax_remove_host(p->disk);
	if (p->dax_dev)
		kill_dax(p->dax_dev);
	if (p->disk_added)
		del_gendisk(p->disk);
	if (p->dax_dev)
		put_dax(p->dax_dev);
	if (p->disk && !IS_ERR(p->disk))
		put_disk(p->disk);
	if (p->bb_ready)
		badblocks_exit(&p->bb);
	if (p->virt) {
		if (p->pgmap.type == MEMORY_DEVICE_FS_DAX)
			memunmap_pages(&p->pgmap);
		else
			memunmap(p->virt);
	}
	if (p->res)
		release_mem_region(p->start, p->size);
	kfree(p);
}

/* Claims [start, start+size) and makes it /dev/pmemlegacyN. */
static int pmem_legacy_add(phys_addr_t start, resource_size_t size)
{
	struct pmem_legacy *p;
	int err;

	p = kzalloc(sizeof(*p), GFP_KERNEL);
	if (!p)
		return -ENOMEM;
	p->start = start;
	p->size = size;

	p->res = request_mem_region(start, size, DRV_NAME);
	if (!p->res) {
		pr_info(DRV_NAME ": [mem %#llx-%#llx] skipped: another driver holds it\n",
			(u64)start, (u64)(start + size - 1));
		err = -EBUSY;
		goto fail;
	}
	err = badblocks_init(&p->bb, 1);
	if (err)
		goto fail;
	p->bb_ready = true;
	if (pmem_legacy_dax_capable(p)) {
		/* struct pages for the range, so DAX mappings can pin them. */
		p->pgmap.type = MEMORY_DEVICE_FS_DAX;
		p->pgmap.range.start = start;
		p->pgmap.range.end = start + size - 1;
		p->pgmap.nr_range = 1;
		p->pgmap.ops = &pmem_legacy_pagemap_ops;
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
		goto fail;
	}
	p->disk = pmem_legacy_alloc_disk(p->pgmap.type == MEMORY_DEVICE_FS_DAX);
	if (IS_ERR(p->disk)) {
		err = PTR_ERR(p->disk);
		p->disk = NULL;
		goto fail;
	}
	p->id = next_id++;
	p->disk->fops = &pmem_legacy_fops;
	p->disk->private_data = p;
	p->disk->bb = &p->bb;
	snprintf(p->disk->disk_name, DISK_NAME_LEN, "pmemlegacy%d", p->id);
	set_capacity(p->disk, size >> SECTOR_SHIFT);
	if (p->pgmap.type == MEMORY_DEVICE_FS_DAX) {
		p->dax_dev = alloc_dax(p, &pmem_legacy_dax_ops);
		if (IS_ERR(p->dax_dev)) {
			err = PTR_ERR(p->dax_dev);
			p->dax_dev = NULL;
			goto fail;
		}
		/*
		 * As pmem.c: write(2) to a DAX file copies with non-temporal
		 * stores (nocache), read(2) with machine-check-safe copies (nomc),
		 * stores reach the persistence domain without the page cache
		 * (synchronous: MAP_SYNC is safe), and the CPU caches hold what
		 * mmap stores wrote until dax_flush() writes them back (write
		 * cache: fsync and msync of a DAX file flush them).
		 */
		set_dax_nocache(p->dax_dev);
		set_dax_nomc(p->dax_dev);
		set_dax_synchronous(p->dax_dev);
		err = dax_add_host(p->dax_dev, p->disk);
		if (err)
			goto fail;
		p->dax_host = true;
		dax_write_cache(p->dax_dev, true);
	}
	err = add_disk(p->disk);
	if (err)
		goto fail;
	p->disk_added = true;

	list_add_tail(&p->list, &devices);
	pr_info(DRV_NAME ": [mem %#llx-%#llx] is /dev/%s%s\n",
		(u64)start, (u64)(start + size - 1), p->disk->disk_name,
		p->dax_dev ? " (DAX)" : "");
	return 0;

fail:
	pmem_legacy_release(p);
	return err;
}

static int pmem_legacy_found(struct resource *res, void *arg)
{
	int err = pmem_legacy_add(res->start, resource_size(res));

	/* A range another driver holds was named already; say every other failure. */
	if (err && err != -EBUSY)
		pr_err(DRV_NAME ": [mem %#llx-%#llx] cannot be claimed (%d)\n",
		       (u64)res->start, (u64)res->end, err);
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
		/* Only legacy persistent memory: never RAM, MMIO or anything else. */
		if (region_intersects(start, size, IORESOURCE_MEM,
				      IORES_DESC_PERSISTENT_MEMORY_LEGACY) != REGION_INTERSECTS) {
			pr_err(DRV_NAME ": regions=%s: [mem %#llx-%#llx] is not inside a Persistent Memory (legacy) range\n",
			       regions, start, start + size - 1);
			err = -EINVAL;
			break;
		}
		err = pmem_legacy_add(start, size);
		if (err) {
			pr_err(DRV_NAME ": regions=%s: [mem %#llx-%#llx] cannot be claimed (%d)\n",
			       regions, start, start + size - 1, err);
			break;
		}
	}
	kfree(list);
	return err;
}

static void pmem_legacy_remove_all(void)
{
	struct pmem_legacy *p, *next;

	list_for_each_entry_safe_reverse(p, next, &devices, list) {
		list_del(&p->list);
		pmem_legacy_release(p);
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
	if (list_empty(&devices)) {
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
MODULE_VERSION("0.1.0");
