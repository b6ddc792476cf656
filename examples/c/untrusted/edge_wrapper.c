/* The test host's ocalls: 1 prints a buffer (answers its length), 2 prints a
 * value, 4 answers a string in the shared buffer (an edge_data). */
#include "eapp_utils.h"
#include "string.h"
#include "syscall.h"
#include "edge_call.h"
#include "edge_wrapper.h"

enum { PRINT_BUFFER = 1, PRINT_VALUE = 2, GET_STRING = 4 };

void edge_init() {}

unsigned long ocall_print_buffer(char* data, size_t data_len) {
  unsigned long answer = 0;
  ocall(PRINT_BUFFER, data, data_len, &answer, sizeof answer);
  return answer;
}

void ocall_print_value(unsigned long val) {
  ocall(PRINT_VALUE, &val, sizeof val, 0, 0);
}

void ocall_get_string(struct edge_data* retdata) {
  ocall(GET_STRING, 0, 0, retdata, sizeof *retdata);
}
