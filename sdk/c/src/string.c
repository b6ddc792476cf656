/* memcpy & co. for eapps. Built with -fno-builtin and
 * -fno-tree-loop-distribute-patterns so gcc does not turn the loops back into
 * calls to themselves. */
#include "app/string.h"

void* memcpy(void* dest, const void* src, size_t len) {
  unsigned char* d = dest;
  const unsigned char* s = src;
  if ((((uintptr_t)d | (uintptr_t)s | len) & 7) == 0) {
    uint64_t* dw = dest;
    const uint64_t* sw = src;
    for (size_t i = 0; i < len / 8; i++) dw[i] = sw[i];
    return dest;
  }
  for (size_t i = 0; i < len; i++) d[i] = s[i];
  return dest;
}

void* memset(void* dest, int byte, size_t len) {
  unsigned char* d = dest;
  for (size_t i = 0; i < len; i++) d[i] = (unsigned char)byte;
  return dest;
}

int memcmp(const void* ptr1, const void* ptr2, size_t len) {
  const unsigned char* a = ptr1;
  const unsigned char* b = ptr2;
  for (size_t i = 0; i < len; i++) {
    if (a[i] != b[i]) return a[i] < b[i] ? -1 : 1;
  }
  return 0;
}

void* memmove(void* dest, const void* src, size_t count) {
  unsigned char* d = dest;
  const unsigned char* s = src;
  if (d == s || count == 0) return dest;
  if (d < s || d >= s + count) {
    for (size_t i = 0; i < count; i++) d[i] = s[i];
  } else {
    for (size_t i = count; i > 0; i--) d[i - 1] = s[i - 1];
  }
  return dest;
}

size_t strlen(char* str) {
  size_t n = 0;
  while (str[n]) n++;
  return n;
}
