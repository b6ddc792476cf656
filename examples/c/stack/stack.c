/* Uses the stack hard: a recursive walk with a page-sized frame, then checks
 * every frame survived. Returns 12345. */
#include "app/eapp_utils.h"

#define DEPTH 24

static unsigned long walk(int depth) {
  volatile unsigned char frame[4096];
  for (int i = 0; i < 4096; i += 512) frame[i] = (unsigned char)(depth + i);
  unsigned long below = depth ? walk(depth - 1) : 0;
  for (int i = 0; i < 4096; i += 512) {
    if (frame[i] != (unsigned char)(depth + i)) return 1UL << 40;
  }
  return below + 1;
}

void EAPP_ENTRY eapp_entry() {
  EAPP_RETURN(walk(DEPTH) == DEPTH + 1 ? 12345 : 1);
}
