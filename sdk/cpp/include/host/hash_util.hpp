// The hash helpers Keystone's verifier programs use (SHA3-512 contexts).
#pragma once

extern "C" {
#include "common/sha3.h"
}

typedef sha3_ctx_t hash_ctx_t;

void hash_init(hash_ctx_t* hash_ctx);
void hash_extend(hash_ctx_t* hash_ctx, const void* ptr, size_t len);
/// Extends with one 4 KiB page.
void hash_extend_page(hash_ctx_t* hash_ctx, const void* ptr);
void hash_finalize(void* md, hash_ctx_t* hash_ctx);
