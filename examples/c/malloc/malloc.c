/* Allocates, fills, frees and reallocates on the heap. Returns 11411. */
#include "app/eapp_utils.h"
#include "app/malloc.h"
#include "app/string.h"

void EAPP_ENTRY eapp_entry() {
  unsigned long* blocks[64];
  for (int i = 0; i < 64; i++) {
    blocks[i] = malloc(sizeof(unsigned long) * (i + 1) * 16);
    if (blocks[i] == 0) EAPP_RETURN(1);
    for (int j = 0; j < (i + 1) * 16; j++) blocks[i][j] = i;
  }
  for (int i = 0; i < 64; i += 2) free(blocks[i]);
  char* big = malloc(300000);
  if (big == 0) EAPP_RETURN(2);
  memset(big, 7, 300000);
  big = realloc(big, 600000);
  if (big == 0 || big[299999] != 7) EAPP_RETURN(3);
  for (int i = 1; i < 64; i += 2) {
    for (int j = 0; j < (i + 1) * 16; j++) {
      if (blocks[i][j] != (unsigned long)i) EAPP_RETURN(4);
    }
    free(blocks[i]);
  }
  free(big);
  EAPP_RETURN(11411);
}
