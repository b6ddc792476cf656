#ifndef EDGE_WRAPPER_H
#define EDGE_WRAPPER_H
#include "edge/edge_call.h"

void edge_init();
unsigned long ocall_print_buffer(char* data, size_t data_len);
void ocall_print_value(unsigned long val);
void ocall_copy_report(void* report, size_t len);
#endif
