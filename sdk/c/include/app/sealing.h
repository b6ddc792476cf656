/* The sealing key an enclave derives with get_sealing_key(): 128 key bytes
 * bound to the enclave's measurement and the identifier it passed, then the
 * SM's Ed25519 signature over them (docs/abi.md §5.5). */
#ifndef KEYSTONE_RS_APP_SEALING_H
#define KEYSTONE_RS_APP_SEALING_H

#include <stdint.h>

#include "shared/eapp_abi.h" /* SEALING_KEY_SIZE, SIGNATURE_SIZE */

struct sealing_key {
  uint8_t key[SEALING_KEY_SIZE];
  uint8_t signature[SIGNATURE_SIZE];
};

#endif
