/* The test host's ocalls: 1 prints a buffer, 2 a value, 3 takes a report
 * (the host prints it in hex for a verifier). */
#include <edge_call.h>
#include "edge_wrapper.h"
#include "eapp_utils.h"
#include "string.h"
#include "syscall.h"

void edge_init() {}

unsigned long ocall_print_buffer(char* data, size_t data_len) {
  unsigned long answer = 0;
  ocall(1, data, data_len, &answer, sizeof answer);
  return answer;
}

void ocall_print_value(unsigned long val) { ocall(2, &val, sizeof val, 0, 0); }

void ocall_copy_report(void* report, size_t len) { ocall(3, report, len, 0, 0); }
