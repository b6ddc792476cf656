// SPDX-License-Identifier: GPL-2.0
/*
 * Physically contiguous EPM and UTM blocks.
 *
 * A block of up to MAX_ORDER - 1 (4 MiB) comes from the buddy allocator as
 * a power of two, naturally aligned: the SM can cover it with one NAPOT PMP
 * entry. A larger EPM comes from CMA (dma_alloc_coherent on the misc device)
 * for exactly the pages asked, and takes a TOR pair. The UTM is always a
 * buddy block: the SM needs it NAPOT.
 */
#include <linux/dma-mapping.h>
#include <linux/gfp.h>
#include <linux/mm.h>
#include <linux/string.h>

#include "keystone.h"

static int mem_alloc_buddy(struct keystone_mem *mem, int order)
{
	struct page *page = alloc_pages(GFP_KERNEL | __GFP_ZERO | __GFP_NOWARN, order);

	if (!page)
		return -ENOMEM;
	mem->va = page_address(page);
	mem->pa = page_to_phys(page);
	mem->size = PAGE_SIZE << order;
	mem->order = order;
	return 0;
}

int keystone_mem_alloc_epm(struct keystone_mem *mem, u64 pages)
{
	int order = get_order(pages << PAGE_SHIFT);
	dma_addr_t handle;
	void *va;

	if (order < MAX_ORDER)
		return mem_alloc_buddy(mem, order);
	va = dma_alloc_coherent(keystone_dev, pages << PAGE_SHIFT, &handle,
				GFP_KERNEL | __GFP_NOWARN);
	if (!va)
		return -ENOMEM;
	/* Coherent (no Zicbom): CMA pages in the linear map, zeroed. */
	mem->va = va;
	mem->pa = virt_to_phys(va);
	mem->size = pages << PAGE_SHIFT;
	mem->order = -1;
	mem->dma = handle;
	return 0;
}

int keystone_mem_alloc_utm(struct keystone_mem *mem, u64 bytes)
{
	return mem_alloc_buddy(mem, get_order(bytes));
}

void keystone_mem_free(struct keystone_mem *mem)
{
	if (!mem->va)
		return;
	if (mem->order >= 0)
		__free_pages(virt_to_page(mem->va), mem->order);
	else
		dma_free_coherent(keystone_dev, mem->size, mem->va, mem->dma);
	memset(mem, 0, sizeof(*mem));
}
