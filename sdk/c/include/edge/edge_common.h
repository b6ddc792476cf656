/* The edge-call layout shared by an enclave and its host (docs/abi.md §7.3;
 * sdk/abi/src/edge.rs): a `struct edge_call` at the start of the shared buffer
 * (UTM), then data. Everything is named by offsets from the buffer's start,
 * never by pointers. */
#ifndef KEYSTONE_RS_EDGE_COMMON_H
#define KEYSTONE_RS_EDGE_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "shared/eapp_abi.h" /* MAX_EDGE_CALL, CALL_STATUS_* */

#ifdef __cplusplus
extern "C" {
#endif

typedef size_t edge_data_offset;
typedef void (*edgecallwrapper)(void*);

/* The shared buffer the edge_call_* helpers work on (edge_call_init_internals). */
extern uintptr_t _shared_start;
extern size_t _shared_len;
extern edgecallwrapper edge_call_table[MAX_EDGE_CALL];

/* A range of the shared buffer (an ocall's wrapped answer, a string...). */
struct edge_data {
  edge_data_offset offset;
  size_t size;
};

struct edge_app_retdata {
  void* app_ptr;
  size_t len;
};

/* What the callee answers: a status (not data), then where its answer is. */
struct edge_return {
  unsigned long call_status;
  edge_data_offset call_ret_offset;
  size_t call_ret_size;
};

struct edge_call {
  unsigned long call_id;
  edge_data_offset call_arg_offset;
  size_t call_arg_size;
  struct edge_return return_data;
};

#ifdef __cplusplus
}
#endif

#endif
