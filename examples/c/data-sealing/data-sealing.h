#include "app/sealing.h"

#define OCALL_PRINT_BUFFER 1

unsigned long ocall_print_buffer(char* data, size_t data_len);
