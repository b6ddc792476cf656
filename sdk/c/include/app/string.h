/* The string functions of the C eapp library (there is no libc in an eapp). */
#ifndef KEYSTONE_RS_APP_STRING_H
#define KEYSTONE_RS_APP_STRING_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

void* memcpy(void* dest, const void* src, size_t len);
void* memset(void* dest, int byte, size_t len);
int memcmp(const void* ptr1, const void* ptr2, size_t len);
void* memmove(void* dest, const void* src, size_t count);
size_t strlen(char* str);

#ifdef __cplusplus
}
#endif

#endif
