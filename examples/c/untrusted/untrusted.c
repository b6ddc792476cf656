/* Ocalls both ways: prints through the host, fetches the host's string from
 * the shared buffer with copy_from_shared and counts its 'l's. Returns what
 * the host answered to the first print: its length, 13. */
#include "app/eapp_utils.h"
#include "app/malloc.h"
#include "app/string.h"
#include "app/syscall.h"
#include "edge_wrapper.h"

void EAPP_ENTRY eapp_entry() {
  char* greeting = "hello world!\n";
  edge_init();
  unsigned long printed = ocall_print_buffer(greeting, strlen(greeting));
  ocall_print_buffer("2nd hello world!\n", 17);
  ocall_print_value(printed);

  struct edge_data shared;
  ocall_get_string(&shared);
  char* text = malloc(shared.size);
  if (text == 0 || copy_from_shared(text, shared.offset, shared.size) != 0) EAPP_RETURN(1);
  unsigned long ls = 0;
  for (size_t i = 0; i < shared.size; i++) ls += text[i] == 'l';
  ocall_print_value(ls);
  EAPP_RETURN(printed);
}
