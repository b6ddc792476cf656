/* Keystone's eapp calls on the Eyrie-compatible runtime.
 *
 * Every function answers 0 on success, else the runtime's (or the SM's)
 * error code. Pointers must name the eapp's own memory: the runtime ends the
 * enclave on a pointer into anything else. */
#ifndef KEYSTONE_RS_APP_SYSCALL_H
#define KEYSTONE_RS_APP_SYSCALL_H

#include <stddef.h>
#include <stdint.h>

#include "sealing.h"
#include "shared/eyrie_call.h"

#ifdef __cplusplus
extern "C" {
#endif

/* SYSCALL(n, a0..a4): ecall with a7 = n; evaluates to a0. */
#define SYSCALL(which, arg0, arg1, arg2, arg3, arg4)                          \
  ({                                                                          \
    register uintptr_t ks_a0_ asm("a0") = (uintptr_t)(arg0);                  \
    register uintptr_t ks_a1_ asm("a1") = (uintptr_t)(arg1);                  \
    register uintptr_t ks_a2_ asm("a2") = (uintptr_t)(arg2);                  \
    register uintptr_t ks_a3_ asm("a3") = (uintptr_t)(arg3);                  \
    register uintptr_t ks_a4_ asm("a4") = (uintptr_t)(arg4);                  \
    register uintptr_t ks_a7_ asm("a7") = (uintptr_t)(which);                 \
    asm volatile("ecall"                                                      \
                 : "+r"(ks_a0_)                                               \
                 : "r"(ks_a1_), "r"(ks_a2_), "r"(ks_a3_), "r"(ks_a4_),         \
                   "r"(ks_a7_)                                                \
                 : "memory");                                                 \
    ks_a0_;                                                                   \
  })

#define SYSCALL_0(n) SYSCALL(n, 0, 0, 0, 0, 0)
#define SYSCALL_1(n, a) SYSCALL(n, a, 0, 0, 0, 0)
#define SYSCALL_2(n, a, b) SYSCALL(n, a, b, 0, 0, 0)
#define SYSCALL_3(n, a, b, c) SYSCALL(n, a, b, c, 0, 0)
#define SYSCALL_4(n, a, b, c, d) SYSCALL(n, a, b, c, d, 0)
#define SYSCALL_5(n, a, b, c, d, e) SYSCALL(n, a, b, c, d, e)

/* Calls host function `call_id` with `data_len` bytes of `data`; the host's
 * answer (at most `return_len` bytes) is copied to `return_buffer`. */
int ocall(unsigned long call_id, void* data, size_t data_len, void* return_buffer,
          size_t return_len);

/* Copies `data_len` bytes at offset `offset` of the shared buffer (an
 * edge_data an ocall answered) into `dst`. */
int copy_from_shared(void* dst, uintptr_t offset, size_t data_len);

/* Has the SM sign a report (REPORT_SIZE = 1352 bytes written to `report`)
 * binding `size` bytes of `data` (at most 1024) to this enclave. */
int attest_enclave(void* report, void* data, size_t size);

/* Derives this enclave's sealing key for the identifier `key_ident`. */
int get_sealing_key(struct sealing_key* sealing_key_struct, size_t sealing_key_struct_size,
                    void* key_ident, size_t key_ident_size);

#ifdef __cplusplus
}
#endif

#endif
