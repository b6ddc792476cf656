// SPDX-License-Identifier: GPL-2.0
/*
 * Every call into the security monitor (Keystone's SBI extension
 * 0x08424b45). The SM returns its own positive codes in a0 (not SBI errnos),
 * so results are passed up raw and turned into errnos in one place
 * (keystone_errno() in keystone-ioctl.c).
 */
#include <asm/sbi.h>

#include "keystone.h"

static struct keystone_sbi_result ks_call(int fid, unsigned long arg0)
{
	struct sbiret ret = sbi_ecall(KEYSTONE_EID, fid, arg0, 0, 0, 0, 0, 0);

	return (struct keystone_sbi_result){ .error = ret.error, .value = ret.value };
}

bool keystone_sbi_present(void)
{
	return sbi_probe_extension(KEYSTONE_EID) > 0;
}

/* The SM reads *args through the calling hart's translation (MPRV), so a
 * kernel address (here: the caller's stack) is what it wants. */
struct keystone_sbi_result keystone_sbi_create(const struct keystone_sbi_create *args)
{
	return ks_call(FID_CREATE_ENCLAVE, (unsigned long)args);
}

struct keystone_sbi_result keystone_sbi_destroy(unsigned long eid)
{
	return ks_call(FID_DESTROY_ENCLAVE, eid);
}

/* RUN and RESUME return when the enclave exits, makes an edge call or is
 * interrupted (the interrupt is then taken by Linux as usual). */
struct keystone_sbi_result keystone_sbi_run(unsigned long eid)
{
	return ks_call(FID_RUN_ENCLAVE, eid);
}

struct keystone_sbi_result keystone_sbi_resume(unsigned long eid)
{
	return ks_call(FID_RESUME_ENCLAVE, eid);
}
