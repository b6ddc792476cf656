/* A small first-fit heap over brk(2) (served by the runtime).
 *
 * Every block starts with a header holding its size (header included, a
 * multiple of 16) and whether it is free; blocks lie back to back from the
 * first break to the current one. free() marks a block free and merges it
 * with free neighbours that follow; malloc() takes the first free block big
 * enough (splitting it) or grows the break. */
#include "app/malloc.h"
#include "app/string.h"
#include "app/syscall.h"

#define ALIGN 16
#define GROW_MIN (64 * 1024)

struct block {
  size_t size; /* bytes, header included */
  size_t free;
};

static uintptr_t heap_start, heap_end;

static uintptr_t sys_brk(uintptr_t addr) { return SYSCALL_1(SYSCALL_BRK, addr); }

static size_t round_up(size_t n, size_t a) { return (n + a - 1) & ~(a - 1); }

static struct block* header_of(void* p) { return (struct block*)p - 1; }

static struct block* next_of(struct block* b) {
  return (struct block*)((uintptr_t)b + b->size);
}

static void coalesce(struct block* b) {
  while ((uintptr_t)next_of(b) < heap_end && next_of(b)->free) b->size += next_of(b)->size;
}

static struct block* grow(size_t need) {
  if (heap_start == 0) {
    heap_start = heap_end = round_up(sys_brk(0), ALIGN);
  }
  size_t by = round_up(need > GROW_MIN ? need : GROW_MIN, 4096);
  uintptr_t want = heap_end + by;
  if (want < heap_end || sys_brk(want) != want) return NULL;
  struct block* b = (struct block*)heap_end;
  b->size = by;
  b->free = 1;
  heap_end = want;
  return b;
}

static void split(struct block* b, size_t size) {
  if (b->size - size >= sizeof(struct block) + ALIGN) {
    struct block* rest = (struct block*)((uintptr_t)b + size);
    rest->size = b->size - size;
    rest->free = 1;
    b->size = size;
  }
}

void* malloc(size_t size) {
  if (size == 0) size = 1;
  if (size > ((size_t)1 << 40)) return NULL;
  size_t need = round_up(size + sizeof(struct block), ALIGN);
  struct block* b = NULL;
  for (uintptr_t p = heap_start; p && p < heap_end; p = (uintptr_t)next_of((struct block*)p)) {
    struct block* c = (struct block*)p;
    if (c->free) {
      coalesce(c);
      if (c->size >= need) {
        b = c;
        break;
      }
    }
  }
  if (b == NULL) {
    b = grow(need);
    if (b == NULL) return NULL;
  }
  split(b, need);
  b->free = 0;
  return b + 1;
}

void free(void* ptr) {
  if (ptr == NULL) return;
  struct block* b = header_of(ptr);
  b->free = 1;
  coalesce(b);
}

void cfree(void* ptr) { free(ptr); }

size_t malloc_usable_size(void* ptr) {
  return ptr ? header_of(ptr)->size - sizeof(struct block) : 0;
}

void* realloc(void* ptr, size_t size) {
  if (ptr == NULL) return malloc(size);
  if (size == 0) {
    free(ptr);
    return NULL;
  }
  size_t have = malloc_usable_size(ptr);
  if (have >= size) return ptr;
  void* fresh = malloc(size);
  if (fresh != NULL) {
    memcpy(fresh, ptr, have);
    free(ptr);
  }
  return fresh;
}

void* calloc(size_t count, size_t size) {
  if (size != 0 && count > (size_t)-1 / size) return NULL;
  void* p = malloc(count * size);
  if (p != NULL) memset(p, 0, count * size);
  return p;
}

void* memalign(size_t alignment, size_t size) {
  if (alignment <= ALIGN) return malloc(size);
  if (alignment & (alignment - 1)) return NULL;
  /* Over-allocate, then give back the front as a free block of its own. */
  uintptr_t raw = (uintptr_t)malloc(size + alignment + sizeof(struct block) + ALIGN);
  if (raw == 0) return NULL;
  uintptr_t aligned = round_up(raw + sizeof(struct block) + ALIGN, alignment);
  struct block* b = header_of((void*)raw);
  struct block* a = header_of((void*)aligned);
  a->size = b->size - (aligned - raw);
  a->free = 0;
  b->size = aligned - raw;
  b->free = 1;
  return (void*)aligned;
}

void* valloc(size_t size) { return memalign(4096, size); }

void* pvalloc(size_t size) { return memalign(4096, round_up(size, 4096)); }

int malloc_trim(size_t pad) {
  (void)pad;
  return 0;
}
