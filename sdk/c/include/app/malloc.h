/* The heap of a C eapp: grows through brk(2), which the runtime serves. */
#ifndef KEYSTONE_RS_APP_MALLOC_H
#define KEYSTONE_RS_APP_MALLOC_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

void* malloc(size_t size);
void free(void* ptr);
void* realloc(void* ptr, size_t size);
void* calloc(size_t count, size_t size);
void* memalign(size_t alignment, size_t size);
void* valloc(size_t size);
void* pvalloc(size_t size);
void cfree(void* ptr);
int malloc_trim(size_t pad);
size_t malloc_usable_size(void* ptr);

#ifdef __cplusplus
}
#endif

#endif
