/* Has the SM sign a report over the nonce "nonce" and hands it to the host.
 * Returns 0. */
#include "app/eapp_utils.h"
#include "app/string.h"
#include "app/syscall.h"
#include "edge_wrapper.h"

void EAPP_ENTRY eapp_entry() {
  char report[2048];
  edge_init();
  if (attest_enclave(report, "nonce", 5) != 0) EAPP_RETURN(1);
  ocall_copy_report(report, sizeof report);
  EAPP_RETURN(0);
}
