/* Keystone's fibonacci: fib(35) the slow way, with fib(0) = fib(1) = 1
 * (about 30 million calls, many timer interrupts). Returns 14930352. */
#include "app/eapp_utils.h"

static unsigned long fib(unsigned long n) { return n < 2 ? 1 : fib(n - 1) + fib(n - 2); }

void EAPP_ENTRY eapp_entry() {
  EAPP_RETURN(fib(35));
}
