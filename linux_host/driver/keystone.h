/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Keystone-compatible enclave driver: shared declarations.
 *
 * One struct keystone_enclave per open file of /dev/keystone_enclave. Its
 * mutex serialises every ioctl and mmap on it; the file's own lifetime (the
 * last fput, after every mapping is gone) ends it.
 */
#ifndef KEYSTONE_DRIVER_H
#define KEYSTONE_DRIVER_H

#include <linux/device.h>
#include <linux/fs.h>
#include <linux/atomic.h>
#include <linux/mutex.h>
#include <linux/types.h>

#include "keystone_sm.h"
#include "keystone_user.h"

/* Where an enclave is in its life; each ioctl accepts only some states. */
enum keystone_state {
	KS_EMPTY,	/* nothing allocated yet: CREATE */
	KS_CREATED,	/* EPM allocated and mappable: UTM_INIT */
	KS_UTM_READY,	/* EPM + UTM: FINALIZE */
	KS_FINALIZED,	/* the SM owns it: RUN, RESUME; the UTM is mappable */
	KS_DEAD,	/* destroyed (or a failed SM destroy): nothing more */
};

/* A physically contiguous block: the EPM or the UTM. */
struct keystone_mem {
	void *va;		/* kernel linear-map address */
	phys_addr_t pa;
	size_t size;		/* bytes, a multiple of PAGE_SIZE */
	int order;		/* >= 0: alloc_pages() order; -1: dma_alloc_coherent() */
	dma_addr_t dma;		/* the DMA handle when order is -1 */
};

struct keystone_enclave {
	struct mutex lock;
	enum keystone_state state;
	u64 ueid;		/* the id user space sees (never the SM's) */
	unsigned long sm_eid;	/* valid in KS_FINALIZED */
	struct keystone_mem epm;
	struct keystone_mem utm;
	/* User mappings of the EPM or UTM alive now (memory stays until 0). */
	atomic_t maps;
	/* Memory the SM refused to release (destroy failed): never freed. */
	bool leak;
};

/* keystone-main.c */
extern struct device *keystone_dev;

/* keystone-ioctl.c */
long keystone_ioctl(struct file *filp, unsigned int cmd, unsigned long arg);
void keystone_enclave_teardown(struct keystone_enclave *encl);
void keystone_enclave_release(struct keystone_enclave *encl);

/* keystone-mem.c */
int keystone_mem_alloc_epm(struct keystone_mem *mem, u64 pages);
int keystone_mem_alloc_utm(struct keystone_mem *mem, u64 bytes);
void keystone_mem_free(struct keystone_mem *mem);

/* keystone-sbi.c: the only place that calls the security monitor. */
struct keystone_sbi_result {
	unsigned long error;
	unsigned long value;
};
bool keystone_sbi_present(void);
struct keystone_sbi_result keystone_sbi_create(const struct keystone_sbi_create *args);
struct keystone_sbi_result keystone_sbi_destroy(unsigned long eid);
struct keystone_sbi_result keystone_sbi_run(unsigned long eid);
struct keystone_sbi_result keystone_sbi_resume(unsigned long eid);

#endif /* KEYSTONE_DRIVER_H */
