/* The edge-call helpers over a shared buffer named by edge_call_init_internals. */
#include "edge/edge_call.h"

uintptr_t _shared_start;
size_t _shared_len;
edgecallwrapper edge_call_table[MAX_EDGE_CALL];

void edge_call_init_internals(uintptr_t buffer_start, size_t buffer_len) {
  _shared_start = buffer_start;
  _shared_len = buffer_len;
}

int edge_call_check_ptr_valid(uintptr_t ptr, size_t data_len) {
  if (ptr < _shared_start || ptr > _shared_start + _shared_len) return 1;
  if (data_len > _shared_len || ptr + data_len > _shared_start + _shared_len) return 1;
  return ptr + data_len < ptr;
}

int edge_call_get_ptr_from_offset(edge_data_offset offset, size_t data_len, uintptr_t* ptr) {
  if (offset > _shared_len) return 1;
  uintptr_t p = _shared_start + offset;
  if (edge_call_check_ptr_valid(p, data_len)) return 1;
  *ptr = p;
  return 0;
}

int edge_call_get_offset_from_ptr(uintptr_t ptr, size_t data_len, edge_data_offset* offset) {
  if (edge_call_check_ptr_valid(ptr, data_len)) return 1;
  *offset = ptr - _shared_start;
  return 0;
}

int edge_call_args_ptr(struct edge_call* edge_call, uintptr_t* ptr, size_t* size) {
  *size = edge_call->call_arg_size;
  return edge_call_get_ptr_from_offset(edge_call->call_arg_offset, *size, ptr);
}

int edge_call_ret_ptr(struct edge_call* edge_call, uintptr_t* ptr, size_t* size) {
  *size = edge_call->return_data.call_ret_size;
  return edge_call_get_ptr_from_offset(edge_call->return_data.call_ret_offset, *size, ptr);
}

uintptr_t edge_call_data_ptr(void) { return _shared_start + sizeof(struct edge_call); }

static int place(void* ptr, size_t size, edge_data_offset* offset) {
  uintptr_t data = edge_call_data_ptr();
  if (edge_call_check_ptr_valid(data, size)) return 1;
  unsigned char* d = (unsigned char*)data;
  const unsigned char* s = ptr;
  for (size_t i = 0; i < size; i++) d[i] = s[i];
  return edge_call_get_offset_from_ptr(data, size, offset);
}

int edge_call_setup_call(struct edge_call* edge_call, void* ptr, size_t size) {
  edge_call->call_arg_size = size;
  return place(ptr, size, &edge_call->call_arg_offset);
}

int edge_call_setup_ret(struct edge_call* edge_call, void* ptr, size_t size) {
  edge_call->return_data.call_ret_size = size;
  return place(ptr, size, &edge_call->return_data.call_ret_offset);
}

int edge_call_setup_wrapped_ret(struct edge_call* edge_call, void* ptr, size_t size) {
  /* The answer is an edge_data naming `size` bytes placed right after it. */
  struct edge_data* wrapper = (struct edge_data*)edge_call_data_ptr();
  uintptr_t payload = edge_call_data_ptr() + sizeof(struct edge_data);
  if (edge_call_check_ptr_valid((uintptr_t)wrapper, sizeof(struct edge_data) + size)) return 1;
  unsigned char* d = (unsigned char*)payload;
  const unsigned char* s = ptr;
  for (size_t i = 0; i < size; i++) d[i] = s[i];
  wrapper->size = size;
  if (edge_call_get_offset_from_ptr(payload, size, &wrapper->offset)) return 1;
  edge_call->return_data.call_ret_size = sizeof(struct edge_data);
  return edge_call_get_offset_from_ptr((uintptr_t)wrapper, sizeof(struct edge_data),
                                       &edge_call->return_data.call_ret_offset);
}

/* The host SDK (sdk/cpp) builds this file with KEYSTONE_EDGE_HOST and
 * brings its own dispatch, which also serves proxied system calls. */
#ifndef KEYSTONE_EDGE_HOST
void incoming_call_dispatch(void* buffer) {
  struct edge_call* call = buffer;
  if (call->call_id >= MAX_EDGE_CALL || edge_call_table[call->call_id] == 0) {
    call->return_data.call_status = CALL_STATUS_BAD_CALL_ID;
    return;
  }
  edge_call_table[call->call_id](buffer);
}
#endif

int register_call(unsigned long call_id, edgecallwrapper func) {
  if (call_id >= MAX_EDGE_CALL) return CALL_STATUS_BAD_CALL_ID;
  edge_call_table[call_id] = func;
  return CALL_STATUS_OK;
}
