/* Eyrie-compatible runtime calls an eapp makes with `ecall` (a7 = number),
 * and the Linux calls the runtime serves or proxies: Keystone's names and
 * numbers. keystone-rs defines them once in sdk/abi/src/eyrie.rs; they come
 * from the generated shared/eapp_abi.h. */
#ifndef KEYSTONE_RS_SHARED_EYRIE_CALL_H
#define KEYSTONE_RS_SHARED_EYRIE_CALL_H

#include "shared/eapp_abi.h"

#endif
