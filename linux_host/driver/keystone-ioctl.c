// SPDX-License-Identifier: GPL-2.0
/*
 * The ioctls of /dev/keystone_enclave, one handler per command, in the
 * shape of drivers/virt/coco/tdx-guest: the command number (which encodes
 * the argument size) is matched whole, so a wrong size is ENOTTY like any
 * unknown command; exactly sizeof(struct) bytes are copied in, and out only
 * when the command succeeded. Each handler runs under the enclave's mutex.
 */
#include <linux/errno.h>
#include <linux/mm.h>
#include <linux/uaccess.h>

#include "keystone.h"

/* Largest EPM a single enclave may ask for: half of RAM. */
#define KS_EPM_MAX_PAGES() (totalram_pages() / 2)
/* Keystone's user ids live in [0x1000, 0xffff). */
#define KS_UEID_FIRST 0x1000

/* The one place SM result codes become errnos. */
static int keystone_errno(unsigned long sm_error)
{
	switch (sm_error) {
	case ERR_SUCCESS:
		return 0;
	case ERR_ILLEGAL_ARGUMENT:
	case ERR_ILLEGAL_PTE:
	case ERR_PMP_REGION_SIZE_INVALID:
	case ERR_PMP_REGION_NOT_PAGE_GRANULARITY:
	case ERR_PMP_REGION_NOT_ALIGNED:
	case ERR_PMP_REGION_INVALID:
	case ERR_PMP_REGION_IMPOSSIBLE_TOR:
		return -EINVAL;
	case ERR_INVALID_ID:
		return -ENXIO;
	case ERR_NO_FREE_RESOURCE:
	case ERR_PMP_FAILURE:
	case ERR_PMP_REGION_MAX_REACHED:
		return -ENOSPC;
	case ERR_REGION_OVERLAPS:
	case ERR_PMP_REGION_OVERLAP:
		return -EADDRINUSE;
	case ERR_NOT_FRESH:
		return -EALREADY;
	case ERR_NOT_RESUMABLE:
		return -ESRCH;
	case ERR_NOT_RUNNABLE:
	case ERR_NOT_RUNNING:
		return -EBADFD;
	case ERR_NOT_DESTROYABLE:
		return -EBUSY;
	case ERR_NOT_ACCESSIBLE:
		return -EFAULT;
	case ERR_SBI_PROHIBITED:
		return -EPERM;
	case ERR_NOT_INITIALIZED:
		return -ENODEV;
	case ERR_DEPRECATED:
	case ERR_NOT_IMPLEMENTED:
		return -EOPNOTSUPP;
	default:
		return -EIO;
	}
}

static DEFINE_IDA(keystone_ueids);

/* The enclave's SM slot and memory go; the file keeps a dead enclave (and
 * its id, so later commands get EBADFD rather than ENOENT). */
void keystone_enclave_teardown(struct keystone_enclave *encl)
{
	if (encl->state == KS_FINALIZED) {
		struct keystone_sbi_result r = keystone_sbi_destroy(encl->sm_eid);

		if (r.error) {
			/* The SM still guards the EPM: Linux must never reuse it. */
			pr_err("keystone: SM destroy of enclave %lu failed (%lu); leaking %zu bytes\n",
			       encl->sm_eid, r.error, encl->epm.size + encl->utm.size);
			encl->leak = true;
		}
	}
	if (!encl->leak) {
		keystone_mem_free(&encl->epm);
		keystone_mem_free(&encl->utm);
	}
	if (encl->state != KS_EMPTY)
		encl->state = KS_DEAD;
}

/* The file is gone (last close, or its process died): everything goes. */
void keystone_enclave_release(struct keystone_enclave *encl)
{
	keystone_enclave_teardown(encl);
	if (encl->ueid)
		ida_free(&keystone_ueids, encl->ueid);
	encl->ueid = 0;
}

static int ks_create(struct keystone_enclave *encl, struct keystone_ioctl_create_enclave *a)
{
	int id, ret;

	if (encl->state != KS_EMPTY)
		return encl->state == KS_DEAD ? -EBADFD : -EEXIST;
	if (a->min_pages == 0 || a->min_pages > KS_EPM_MAX_PAGES())
		return -EINVAL;
	id = ida_alloc_range(&keystone_ueids, KS_UEID_FIRST, 0xfffe, GFP_KERNEL);
	if (id < 0)
		return id;
	ret = keystone_mem_alloc_epm(&encl->epm, a->min_pages);
	if (ret) {
		ida_free(&keystone_ueids, id);
		return ret;
	}
	encl->ueid = id;
	encl->state = KS_CREATED;
	a->eid = id;
	a->epm_paddr = encl->epm.pa;
	a->epm_size = encl->epm.size;
	return 0;
}

static int ks_utm_init(struct keystone_enclave *encl, struct keystone_ioctl_create_enclave *a)
{
	int ret;

	if (encl->state == KS_UTM_READY || encl->state == KS_FINALIZED)
		return -EEXIST;
	if (encl->state != KS_CREATED)
		return -EBADFD;
	if (a->utm_size == 0 || a->utm_size > KEYSTONE_UTM_MAX)
		return -EINVAL;
	ret = keystone_mem_alloc_utm(&encl->utm, a->utm_size);
	if (ret)
		return ret;
	encl->state = KS_UTM_READY;
	a->utm_paddr = encl->utm.pa;
	a->utm_size = encl->utm.size;
	return 0;
}

static bool in_epm(const struct keystone_mem *epm, u64 pa, bool end_ok)
{
	return pa >= epm->pa && (pa < epm->pa + epm->size || (end_ok && pa == epm->pa + epm->size));
}

static int ks_finalize(struct keystone_enclave *encl, struct keystone_ioctl_create_enclave *a)
{
	struct keystone_sbi_create args;
	struct keystone_sbi_result r;

	if (encl->state == KS_FINALIZED)
		return -EALREADY;
	if (encl->state != KS_UTM_READY)
		return -EBADFD;
	/* The SM checks these too; checking here gives a precise EINVAL. */
	if (!in_epm(&encl->epm, a->runtime_paddr, false) ||
	    !in_epm(&encl->epm, a->user_paddr, false) ||
	    !in_epm(&encl->epm, a->free_paddr, true) ||
	    a->runtime_paddr > a->user_paddr || a->user_paddr > a->free_paddr ||
	    !PAGE_ALIGNED(a->runtime_paddr) || !PAGE_ALIGNED(a->user_paddr) ||
	    !PAGE_ALIGNED(a->free_paddr))
		return -EINVAL;
	args = (struct keystone_sbi_create){
		.epm_paddr = encl->epm.pa,
		.epm_size = encl->epm.size,
		.utm_paddr = encl->utm.pa,
		.utm_size = encl->utm.size,
		.runtime_paddr = a->runtime_paddr,
		.user_paddr = a->user_paddr,
		.free_paddr = a->free_paddr,
		.free_requested = a->free_requested,
	};
	r = keystone_sbi_create(&args);
	if (r.error)
		return keystone_errno(r.error);
	encl->sm_eid = r.value;
	encl->state = KS_FINALIZED;
	return 0;
}

static int ks_destroy(struct keystone_enclave *encl, struct keystone_ioctl_create_enclave *a)
{
	struct keystone_sbi_result r;

	if (encl->state == KS_EMPTY || encl->state == KS_DEAD)
		return -EBADFD;
	if (!atomic_read(&encl->maps)) {
		keystone_enclave_teardown(encl);
		return encl->leak ? -EIO : 0;
	}
	/* Mapped pages stay allocated until they are unmapped and the file is
	 * released (every mapping holds the file); the SM lets go now. */
	if (encl->state == KS_FINALIZED) {
		r = keystone_sbi_destroy(encl->sm_eid);
		if (r.error)
			return keystone_errno(r.error);
	}
	encl->state = KS_DEAD;
	return 0;
}

static int ks_run(struct keystone_enclave *encl, struct keystone_ioctl_run_enclave *a,
		  bool resume)
{
	struct keystone_sbi_result r;

	if (encl->state != KS_FINALIZED)
		return -EBADFD;
	r = resume ? keystone_sbi_resume(encl->sm_eid) : keystone_sbi_run(encl->sm_eid);
	switch (r.error) {
	case ERR_SUCCESS:
	case ERR_EDGE_CALL_HOST:
	case ERR_INTERRUPTED:
		a->error = r.error;
		a->value = r.value;
		return 0;
	default:
		return keystone_errno(r.error);
	}
}

/*
 * RUN and RESUME come once per ocall round trip: the struct's range is
 * checked once, then only the id is read and only the two results are
 * written, one __get_user/__put_user each (copying the whole struct in and
 * out costs a byte loop each way on riscv for a struct this small). A
 * pointer that cannot be read or written is EFAULT, as for every other
 * command.
 */
static long ks_run_ioctl(struct keystone_enclave *encl,
			 struct keystone_ioctl_run_enclave __user *argp, bool resume)
{
	struct keystone_ioctl_run_enclave a;
	int ret;

	if (!access_ok(argp, sizeof(*argp)) || __get_user(a.eid, &argp->eid))
		return -EFAULT;
	if (mutex_lock_interruptible(&encl->lock))
		return -EINTR;
	ret = encl->ueid && a.eid == encl->ueid ? ks_run(encl, &a, resume) : -ENOENT;
	mutex_unlock(&encl->lock);
	if (!ret && (__put_user(a.error, &argp->error) || __put_user(a.value, &argp->value)))
		ret = -EFAULT;
	return ret;
}

/* Copy in exactly sizeof(*a), check the id, run the handler, copy out on success. */
#define KS_DISPATCH(type, handler, ...)                                          \
	({                                                                        \
		type a;                                                           \
		int ret;                                                          \
		if (copy_from_user(&a, argp, sizeof(a)))                          \
			return -EFAULT;                                           \
		if (mutex_lock_interruptible(&encl->lock))                        \
			return -EINTR;                                            \
		ret = check_eid ? (encl->ueid && a.eid == encl->ueid ? 0 : -ENOENT) : 0; \
		if (!ret)                                                         \
			ret = handler(encl, &a, ##__VA_ARGS__);                   \
		mutex_unlock(&encl->lock);                                        \
		if (!ret && (_IOC_DIR(cmd) & _IOC_READ) &&                        \
		    copy_to_user(argp, &a, sizeof(a)))                            \
			ret = -EFAULT;                                            \
		ret;                                                              \
	})

long keystone_ioctl(struct file *filp, unsigned int cmd, unsigned long arg)
{
	struct keystone_enclave *encl = filp->private_data;
	void __user *argp = (void __user *)arg;
	bool check_eid = true;

	/* The ocall round trip's command first, before the switch. */
	if (cmd == KEYSTONE_IOC_RESUME_ENCLAVE)
		return ks_run_ioctl(encl, argp, true);
	switch (cmd) {
	case KEYSTONE_IOC_CREATE_ENCLAVE:
		check_eid = false;
		return KS_DISPATCH(struct keystone_ioctl_create_enclave, ks_create);
	case KEYSTONE_IOC_UTM_INIT:
		return KS_DISPATCH(struct keystone_ioctl_create_enclave, ks_utm_init);
	case KEYSTONE_IOC_FINALIZE_ENCLAVE:
		return KS_DISPATCH(struct keystone_ioctl_create_enclave, ks_finalize);
	case KEYSTONE_IOC_DESTROY_ENCLAVE:
		return KS_DISPATCH(struct keystone_ioctl_create_enclave, ks_destroy);
	case KEYSTONE_IOC_RUN_ENCLAVE:
		return ks_run_ioctl(encl, argp, false);
	default:
		return -ENOTTY;
	}
}
