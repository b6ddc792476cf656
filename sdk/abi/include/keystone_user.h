/* SPDX-License-Identifier: Apache-2.0 OR GPL-2.0 WITH Linux-syscall-note */
/*
 * The enclave driver's user ABI: /dev/keystone_enclave, its ioctl numbers
 * (Keystone's values, so Keystone's host SDK works unchanged) and their
 * argument structs.
 *
 * Flow: open -> CREATE (EPM) -> mmap EPM pages, copy loader/runtime/eapp ->
 * UTM_INIT -> FINALIZE (SM create) -> mmap the UTM -> RUN, then RESUME after
 * each INTERRUPTED or EDGE_CALL_HOST -> DESTROY or close. One enclave per open
 * file; closing the file (or the process dying) destroys it.
 *
 * Every command returns 0 or -1 with errno:
 *   ENOTTY      unknown command, or a known one with the wrong argument size
 *   EFAULT      the argument pointer is not readable/writable
 *   ENOENT      eid is not the enclave of this file
 *   EEXIST      CREATE or UTM_INIT again on the same file
 *   EALREADY    FINALIZE again
 *   EBADFD      the command does not fit the enclave's state (UTM_INIT before
 *               CREATE, FINALIZE before UTM_INIT, RUN/RESUME before FINALIZE,
 *               anything after DESTROY)
 *   EINVAL      a bad size or address (min_pages 0 or too large, utm_size 0
 *               or above KEYSTONE_UTM_MAX, FINALIZE addresses outside the EPM
 *               or out of order); also the SM's ILLEGAL_ARGUMENT
 *   ENOMEM      no contiguous memory of that size
 *   EINTR       a signal arrived while waiting for the enclave's lock
 *   SM errors (from FINALIZE, RUN, RESUME, DESTROY) map to: INVALID_ID ENXIO,
 *   NO_FREE_RESOURCE/PMP_FAILURE/PMP_REGION_MAX_REACHED ENOSPC, REGION_OVERLAPS/
 *   PMP_REGION_OVERLAP EADDRINUSE, NOT_FRESH EALREADY... see keystone_errno()
 *   in linux_host/driver/keystone-ioctl.c; RUN/RESUME succeed with error =
 *   0 (exited, value = exit value), EDGE_CALL_HOST or INTERRUPTED.
 *
 * Generated from the Rust crate sdk/abi, the one source of these numbers and
 * layouts, by sdk/abi/examples/dump_abi.rs: do not edit, regenerate with
 *   cargo run -q -p keystone-abi --example dump_abi -- --write
 * (tests/tools/test_abi.py fails when this file is stale, and compiles it to
 * check every value against the crate).
 */
#ifndef KEYSTONE_USER_H
#define KEYSTONE_USER_H

#include <linux/ioctl.h>
#include <linux/types.h>

/**
 * struct keystone_ioctl_create_enclave - CREATE, UTM_INIT, FINALIZE, DESTROY
 * @eid: the driver's id of the enclave (out of CREATE, in for the others)
 * @min_pages: CREATE: EPM pages wanted
 * @utm_size: UTM_INIT: UTM bytes wanted (rounded up to a power of two)
 * @runtime_paddr: FINALIZE: physical address of the runtime image in the EPM
 * @user_paddr: FINALIZE: physical address of the eapp image in the EPM
 * @free_paddr: FINALIZE: first free EPM page
 * @free_requested: FINALIZE: free memory asked for (passed to the SM)
 * @epm_paddr: out of CREATE: EPM base
 * @epm_size: out of CREATE: EPM size in bytes (>= min_pages pages)
 * @utm_paddr: out of UTM_INIT: UTM base (its size is written to @utm_size)
 */
struct keystone_ioctl_create_enclave {
	__u64 eid;
	__u64 min_pages;
	__u64 utm_size;
	__u64 runtime_paddr;
	__u64 user_paddr;
	__u64 free_paddr;
	__u64 free_requested;
	__u64 epm_paddr;
	__u64 epm_size;
	__u64 utm_paddr;
};

/**
 * struct keystone_ioctl_run_enclave - RUN, RESUME
 * @eid: the driver's id of the enclave
 * @error: out: 0 (the enclave exited), ERR_EDGE_CALL_HOST or ERR_INTERRUPTED
 * @value: out: the exit value when @error is 0
 */
struct keystone_ioctl_run_enclave {
	__u64 eid;
	__u64 error;
	__u64 value;
};

#define KEYSTONE_DEVICE_PATH "/dev/keystone_enclave"
#define KEYSTONE_IOC_MAGIC 0xa4

/* Keystone's numbers; its _IOR directions are kept for compatibility even
 * where the driver also reads the argument. */
#define KEYSTONE_IOC_CREATE_ENCLAVE \
	_IOR(KEYSTONE_IOC_MAGIC, 0x00, struct keystone_ioctl_create_enclave)
#define KEYSTONE_IOC_DESTROY_ENCLAVE \
	_IOW(KEYSTONE_IOC_MAGIC, 0x01, struct keystone_ioctl_create_enclave)
#define KEYSTONE_IOC_RUN_ENCLAVE \
	_IOR(KEYSTONE_IOC_MAGIC, 0x04, struct keystone_ioctl_run_enclave)
#define KEYSTONE_IOC_RESUME_ENCLAVE \
	_IOR(KEYSTONE_IOC_MAGIC, 0x05, struct keystone_ioctl_run_enclave)
#define KEYSTONE_IOC_FINALIZE_ENCLAVE \
	_IOR(KEYSTONE_IOC_MAGIC, 0x06, struct keystone_ioctl_create_enclave)
#define KEYSTONE_IOC_UTM_INIT \
	_IOR(KEYSTONE_IOC_MAGIC, 0x07, struct keystone_ioctl_create_enclave)

/* Largest UTM: one buddy block (MAX_ORDER - 1 on Linux 6.1, 4 KiB pages). */
#define KEYSTONE_UTM_MAX 0x400000UL

#endif /* KEYSTONE_USER_H */
