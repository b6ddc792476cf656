/* Entry and exit of a C eapp.
 *
 * Mark exactly one function EAPP_ENTRY: the runtime starts the eapp there (it
 * goes in section .text._start, which sdk/c/eapp.ld places first and makes the
 * ELF entry point; without one, the entry is `_start`, else the first
 * instruction of .text, as with Keystone's app.lds). It must never return: end
 * with EAPP_RETURN(value), whose value the host's run returns. */
#ifndef KEYSTONE_RS_APP_EAPP_UTILS_H
#define KEYSTONE_RS_APP_EAPP_UTILS_H

#ifdef __cplusplus
extern "C" {
#endif

#define EAPP_ENTRY __attribute__((__section__(".text._start"), __used__))

/* Ends the enclave; the host sees `rval` as the enclave's return value. */
void EAPP_RETURN(unsigned long rval) __attribute__((noreturn));

#ifdef __cplusplus
}
#endif

#endif
