/* The host's incoming_call_dispatch: the wrappers registered with
 * register_call by id, and the runtime's proxied system calls
 * (EDGECALL_SYSCALL): write(2) to fd 1 or 2 goes to the host's, anything else
 * is -ENOSYS, as the Rust host SDK answers. The rest of the edge-call helpers
 * are sdk/c/src/edge_call.c, shared with the eapp library. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/cpp_abi.h"
#include "edge/edge_call.h"

/* The proxied call's layout (sdk/abi edge.rs): the syscall number, then its
 * arguments (at EDGE_SYSCALL_ARGS); write's are fd (i32, padded to 8), len
 * (u64), then the bytes (at EDGE_SYSCALL_WRITE_BUF). */

static int64_t proxied_write(const unsigned char* args, size_t len) {
  if (len < EDGE_SYSCALL_WRITE_BUF) return -EINVAL;
  int32_t fd;
  uint64_t n;
  memcpy(&fd, args, sizeof fd);
  memcpy(&n, args + 8, sizeof n);
  if (n > len - EDGE_SYSCALL_WRITE_BUF) return -EINVAL;
  if (fd != 1 && fd != 2) return -EBADF;
  FILE* out = fd == 1 ? stdout : stderr;
  if (fwrite(args + EDGE_SYSCALL_WRITE_BUF, 1, n, out) != n) return -EIO;
  fflush(out);
  return (int64_t)n;
}

static void serve_syscall(struct edge_call* call) {
  uintptr_t args;
  size_t len;
  if (edge_call_args_ptr(call, &args, &len) != 0 || len < EDGE_SYSCALL_ARGS) {
    call->return_data.call_status = CALL_STATUS_BAD_OFFSET;
    return;
  }
  uint64_t num;
  memcpy(&num, (const void*)args, sizeof num);
  int64_t result = num == EDGE_SYS_WRITE
                       ? proxied_write((const unsigned char*)args + EDGE_SYSCALL_ARGS, len - EDGE_SYSCALL_ARGS)
                       : -ENOSYS;
  uintptr_t data = edge_call_data_ptr();
  if (edge_call_check_ptr_valid(data, sizeof result) != 0) {
    call->return_data.call_status = CALL_STATUS_ERROR;
    return;
  }
  memcpy((void*)data, &result, sizeof result);
  call->return_data.call_status =
      edge_call_setup_ret(call, (void*)data, sizeof result) ? CALL_STATUS_BAD_PTR : CALL_STATUS_OK;
}

void incoming_call_dispatch(void* buffer) {
  struct edge_call* call = (struct edge_call*)buffer;
  if (call->call_id == EDGECALL_SYSCALL) {
    serve_syscall(call);
    return;
  }
  if (call->call_id >= MAX_EDGE_CALL || edge_call_table[call->call_id] == 0) {
    call->return_data.call_status = CALL_STATUS_BAD_CALL_ID;
    return;
  }
  edge_call_table[call->call_id](buffer);
}
