/* Derives a sealing key for the identifier "identifier" and says whether it
 * worked. Returns 0 on success. */
#include "app/eapp_utils.h"
#include "app/string.h"
#include "app/syscall.h"
#include "data-sealing.h"

int EAPP_ENTRY main() {
  char* ident = "identifier";
  struct sealing_key key;
  if (get_sealing_key(&key, sizeof key, ident, strlen(ident)) != 0) {
    ocall_print_buffer("Sealing key derivation failed!\n", 31);
    EAPP_RETURN(-1);
  }
  ocall_print_buffer("Sealing key derivation successful!\n", 35);
  EAPP_RETURN(0);
}

unsigned long ocall_print_buffer(char* data, size_t data_len) {
  unsigned long answer = 0;
  ocall(OCALL_PRINT_BUFFER, data, data_len, &answer, sizeof answer);
  return answer;
}
