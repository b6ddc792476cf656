/* SHA3 (FIPS 202) with the names Keystone's host and verifier programs use
 * (sha3_ctx_t, sha3_init/update/final, sha3). Our own implementation
 * (sdk/cpp/src/sha3.c); the context's fields are ours. */
#ifndef KEYSTONE_RS_COMMON_SHA3_H
#define KEYSTONE_RS_COMMON_SHA3_H

#include <stddef.h>
#include <stdint.h>

/* MDSIZE: SHA3-512's digest, the size of every hash in a Keystone report. */
#include "common/cpp_abi.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  uint64_t lanes[25];   /* the Keccak-f[1600] state */
  unsigned int filled;  /* bytes absorbed into the current block */
  unsigned int rate;    /* block size in bytes: 200 - 2 * digest */
  unsigned int digest;  /* digest size in bytes */
} sha3_ctx_t;

/* The permutation, 24 rounds, on 25 little-endian lanes. */
void sha3_keccakf(uint64_t lanes[25]);
/* Starts a SHA3 hash with a digest of `mdlen` bytes (28, 32, 48 or 64); 0, or
 * -1 for another size. */
int sha3_init(sha3_ctx_t* c, int mdlen);
int sha3_update(sha3_ctx_t* c, const void* data, size_t len);
/* Writes the digest to `md` (c->digest bytes). */
int sha3_final(void* md, sha3_ctx_t* c);
/* One-shot: the `mdlen`-byte digest of `in` into `md`, which it returns. */
void* sha3(const void* in, size_t inlen, void* md, int mdlen);

#ifdef __cplusplus
}
#endif

#endif
