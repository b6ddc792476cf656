/* Spins long enough to be interrupted by the timer many times. Returns 54321. */
#include "app/eapp_utils.h"

void EAPP_ENTRY eapp_entry() {
  volatile unsigned long i;
  for (i = 0; i < 10000000UL; i++) {
  }
  EAPP_RETURN(54321);
}
