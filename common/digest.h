/* digest.h — SHA-256 (backed by nettle) and hex helpers. */
#ifndef EVM_DIGEST_H
#define EVM_DIGEST_H

#include <stddef.h>
#include <stdint.h>

#include <nettle/sha2.h>

#include "err.h"

#define DIGEST_LEN 32
#define DIGEST_HEX_LEN 64

struct digest {
    struct sha256_ctx ctx;
};

void digest_init(struct digest *d);
void digest_update(struct digest *d, const void *buf, size_t len);
void digest_final(struct digest *d, uint8_t out[DIGEST_LEN]);
void digest_buf(const void *buf, size_t len, uint8_t out[DIGEST_LEN]);

/* Hashes an open file from its current position to EOF, in bounded memory. */
int digest_fd(int fd, uint8_t out[DIGEST_LEN], uint64_t *size, struct evm_err *err);

/* Lowercase hex; out must hold 2*len+1 bytes. */
void hex_encode(const uint8_t *in, size_t len, char *out);
/* Exactly 2*len lowercase-or-uppercase hex digits; -EINVAL otherwise. */
int hex_decode(const char *in, size_t inlen, uint8_t *out, size_t len);

#endif
