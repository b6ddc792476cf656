// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/keystone_enclave: a Keystone-compatible enclave driver for Linux 6.1
 * on our security monitor (docs/abi.md §6).
 *
 * Each open file owns at most one enclave. mmap maps EPM pages (to copy the
 * loader, runtime and eapp in) until FINALIZE, and the UTM (the shared
 * buffer) after it. The enclave dies with the file: the last close, which
 * comes after every mapping is gone, also when the process is killed.
 *
 * Module parameter keystone_mmap: "any" (default) maps any page-aligned part
 * of the EPM with one mmap before FINALIZE; "page" enforces Keystone's
 * driver's rule (linux-keystone-driver/keystone.c): at most one page per
 * mmap before FINALIZE, EINVAL for more, so host software can be tested
 * against that rule on our stack.
 */
#include <linux/dma-mapping.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "keystone.h"

struct device *keystone_dev;

static char *keystone_mmap_mode = "any";
module_param_named(keystone_mmap, keystone_mmap_mode, charp, 0444);
MODULE_PARM_DESC(keystone_mmap,
		 "EPM mmap before FINALIZE: any (one mapping of any length) or page "
		 "(one page per mmap, as Keystone's driver)");
static bool keystone_mmap_page;

static int keystone_open(struct inode *inode, struct file *filp)
{
	struct keystone_enclave *encl = kzalloc(sizeof(*encl), GFP_KERNEL);

	if (!encl)
		return -ENOMEM;
	mutex_init(&encl->lock);
	encl->state = KS_EMPTY;
	atomic_set(&encl->maps, 0);
	filp->private_data = encl;
	return 0;
}

static int keystone_release(struct inode *inode, struct file *filp)
{
	struct keystone_enclave *encl = filp->private_data;

	/* No ioctl or mapping can be alive: both hold a reference to the file. */
	keystone_enclave_release(encl);
	mutex_destroy(&encl->lock);
	kfree(encl);
	return 0;
}

static void keystone_vm_open(struct vm_area_struct *vma)
{
	struct keystone_enclave *encl = vma->vm_file->private_data;

	atomic_inc(&encl->maps);
}

static void keystone_vm_close(struct vm_area_struct *vma)
{
	struct keystone_enclave *encl = vma->vm_file->private_data;

	atomic_dec(&encl->maps);
}

static const struct vm_operations_struct keystone_vm_ops = {
	.open = keystone_vm_open,
	.close = keystone_vm_close,
};

static int keystone_mmap(struct file *filp, struct vm_area_struct *vma)
{
	struct keystone_enclave *encl = filp->private_data;
	unsigned long len = vma->vm_end - vma->vm_start;
	unsigned long off = vma->vm_pgoff << PAGE_SHIFT;
	struct keystone_mem *mem;
	int ret;

	if (mutex_lock_interruptible(&encl->lock))
		return -EINTR;
	switch (encl->state) {
	case KS_CREATED:
	case KS_UTM_READY:
		mem = &encl->epm;	/* before FINALIZE: the EPM, to load it */
		break;
	case KS_FINALIZED:
		mem = &encl->utm;	/* after: the shared buffer */
		break;
	default:
		ret = -EBADFD;
		goto out;
	}
	ret = -EINVAL;
	if (vma->vm_pgoff >= (mem->size >> PAGE_SHIFT) || len > mem->size - off)
		goto out;
	if (keystone_mmap_page && mem == &encl->epm && len > PAGE_SIZE)
		goto out;	/* Keystone's rule: one EPM page per mmap */
	vma->vm_flags |= VM_DONTCOPY | VM_DONTEXPAND | VM_DONTDUMP;
	ret = remap_pfn_range(vma, vma->vm_start, (mem->pa + off) >> PAGE_SHIFT, len,
			      vma->vm_page_prot);
	if (ret)
		goto out;
	vma->vm_ops = &keystone_vm_ops;
	atomic_inc(&encl->maps);
out:
	mutex_unlock(&encl->lock);
	return ret;
}

static const struct file_operations keystone_fops = {
	.owner = THIS_MODULE,
	.open = keystone_open,
	.release = keystone_release,
	.unlocked_ioctl = keystone_ioctl,
	.mmap = keystone_mmap,
	.llseek = noop_llseek,
};

static struct miscdevice keystone_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "keystone_enclave",
	.fops = &keystone_fops,
	.mode = 0600,
};

static int __init keystone_init(void)
{
	int ret;

	if (strcmp(keystone_mmap_mode, "page") == 0) {
		keystone_mmap_page = true;
	} else if (strcmp(keystone_mmap_mode, "any") != 0) {
		pr_err("keystone: keystone_mmap=%s: expected \"any\" or \"page\"\n",
		       keystone_mmap_mode);
		return -EINVAL;
	}
	if (!keystone_sbi_present()) {
		pr_err("keystone: the firmware has no Keystone SBI extension (%#lx)\n",
		       KEYSTONE_EID);
		return -ENODEV;
	}
	ret = misc_register(&keystone_misc);
	if (ret)
		return ret;
	keystone_dev = keystone_misc.this_device;
	/* Large EPMs come from CMA through the DMA API on this device. */
	keystone_dev->coherent_dma_mask = DMA_BIT_MASK(64);
	keystone_dev->dma_mask = &keystone_dev->coherent_dma_mask;
	pr_info("keystone: /dev/keystone_enclave ready (EPM mmap: %s)\n",
		keystone_mmap_page ? "one page per mmap" : "any length");
	return 0;
}

static void __exit keystone_exit(void)
{
	misc_deregister(&keystone_misc);
}

module_init(keystone_init);
module_exit(keystone_exit);
MODULE_DESCRIPTION("Keystone-compatible enclave driver");
MODULE_LICENSE("GPL");
