/* Keystone's eapp calls: each is one ecall to the runtime (shared/eyrie_call.h). */
#include "app/eapp_utils.h"
#include "app/syscall.h"

int ocall(unsigned long call_id, void* data, size_t data_len, void* return_buffer,
          size_t return_len) {
  return (int)SYSCALL_5(SYSCALL_OCALL, call_id, data, data_len, return_buffer, return_len);
}

int copy_from_shared(void* dst, uintptr_t offset, size_t data_len) {
  return (int)SYSCALL_3(SYSCALL_SHAREDCOPY, dst, offset, data_len);
}

int attest_enclave(void* report, void* data, size_t size) {
  return (int)SYSCALL_3(SYSCALL_ATTEST_ENCLAVE, report, data, size);
}

int get_sealing_key(struct sealing_key* sealing_key_struct, size_t sealing_key_struct_size,
                    void* key_ident, size_t key_ident_size) {
  return (int)SYSCALL_4(SYSCALL_GET_SEALING_KEY, sealing_key_struct, sealing_key_struct_size,
                        key_ident, key_ident_size);
}

void EAPP_RETURN(unsigned long rval) {
  SYSCALL_1(SYSCALL_EXIT, rval);
  for (;;) {
    /* the runtime does not come back from exit */
  }
}
