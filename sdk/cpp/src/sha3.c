/* SHA3 from FIPS 202: Keccak-f[1600] over 25 64-bit lanes (little-endian
 * bytes), pad10*1 with the SHA3 domain bits 01. */
#include "common/sha3.h"

#include <string.h>

static const uint64_t round_constants[24] = {
    0x0000000000000001ULL, 0x0000000000008082ULL, 0x800000000000808aULL, 0x8000000080008000ULL,
    0x000000000000808bULL, 0x0000000080000001ULL, 0x8000000080008081ULL, 0x8000000000008009ULL,
    0x000000000000008aULL, 0x0000000000000088ULL, 0x0000000080008009ULL, 0x000000008000000aULL,
    0x000000008000808bULL, 0x800000000000008bULL, 0x8000000000008089ULL, 0x8000000000008003ULL,
    0x8000000000008002ULL, 0x8000000000000080ULL, 0x000000000000800aULL, 0x800000008000000aULL,
    0x8000000080008081ULL, 0x8000000000008080ULL, 0x0000000080000001ULL, 0x8000000080008008ULL};

static uint64_t rol(uint64_t v, unsigned int n) { return n ? (v << n) | (v >> (64 - n)) : v; }

void sha3_keccakf(uint64_t a[25]) {
  /* Rotation offsets r[x][y] of rho, indexed x + 5y. */
  static const unsigned int rho[25] = {0,  1,  62, 28, 27, 36, 44, 6,  55, 20, 3,  10, 43,
                                       25, 39, 41, 45, 15, 21, 8,  18, 2,  61, 56, 14};
  for (int round = 0; round < 24; round++) {
    uint64_t c[5], d[5], b[25];
    for (int x = 0; x < 5; x++) c[x] = a[x] ^ a[x + 5] ^ a[x + 10] ^ a[x + 15] ^ a[x + 20];
    for (int x = 0; x < 5; x++) d[x] = c[(x + 4) % 5] ^ rol(c[(x + 1) % 5], 1);
    for (int i = 0; i < 25; i++) a[i] ^= d[i % 5];
    /* rho and pi: lane (x, y) moves to (y, 2x + 3y). */
    for (int x = 0; x < 5; x++)
      for (int y = 0; y < 5; y++) b[y + 5 * ((2 * x + 3 * y) % 5)] = rol(a[x + 5 * y], rho[x + 5 * y]);
    /* chi */
    for (int y = 0; y < 5; y++)
      for (int x = 0; x < 5; x++)
        a[x + 5 * y] = b[x + 5 * y] ^ (~b[(x + 1) % 5 + 5 * y] & b[(x + 2) % 5 + 5 * y]);
    /* iota */
    a[0] ^= round_constants[round];
  }
}

static void xor_byte(sha3_ctx_t* c, unsigned int at, uint8_t v) {
  c->lanes[at / 8] ^= (uint64_t)v << (8 * (at % 8));
}

int sha3_init(sha3_ctx_t* c, int mdlen) {
  if (mdlen != 28 && mdlen != 32 && mdlen != 48 && mdlen != 64) return -1;
  memset(c, 0, sizeof *c);
  c->digest = (unsigned int)mdlen;
  c->rate = 200 - 2 * (unsigned int)mdlen;
  return 0;
}

int sha3_update(sha3_ctx_t* c, const void* data, size_t len) {
  const uint8_t* p = (const uint8_t*)data;
  for (size_t i = 0; i < len; i++) {
    xor_byte(c, c->filled++, p[i]);
    if (c->filled == c->rate) {
      sha3_keccakf(c->lanes);
      c->filled = 0;
    }
  }
  return 0;
}

int sha3_final(void* md, sha3_ctx_t* c) {
  xor_byte(c, c->filled, 0x06);
  xor_byte(c, c->rate - 1, 0x80);
  sha3_keccakf(c->lanes);
  uint8_t* out = (uint8_t*)md;
  for (unsigned int i = 0; i < c->digest; i++) out[i] = (uint8_t)(c->lanes[i / 8] >> (8 * (i % 8)));
  return 0;
}

void* sha3(const void* in, size_t inlen, void* md, int mdlen) {
  sha3_ctx_t c;
  if (sha3_init(&c, mdlen) != 0) return NULL;
  sha3_update(&c, in, inlen);
  sha3_final(md, &c);
  return md;
}
