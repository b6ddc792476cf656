/* A text segment of several pages: 4097 four-byte nops before returning
 * 12345, so the loader must map a multi-page text segment. */
#include "app/eapp_utils.h"

void EAPP_ENTRY eapp_entry() {
  asm volatile(".option push\n.option norvc\n.rept 4097\nnop\n.endr\n.option pop");
  EAPP_RETURN(12345);
}
