/* digest.c — SHA-256 through nettle, and hex encoding. */
#include "digest.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fileutil.h"
#include "strutil.h"

void digest_init(struct digest *d)
{
    sha256_init(&d->ctx);
}

void digest_update(struct digest *d, const void *buf, size_t len)
{
    sha256_update(&d->ctx, len, buf);
}

void digest_final(struct digest *d, uint8_t out[DIGEST_LEN])
{
    sha256_digest(&d->ctx, DIGEST_LEN, out);
}

void digest_buf(const void *buf, size_t len, uint8_t out[DIGEST_LEN])
{
    struct digest d;
    digest_init(&d);
    digest_update(&d, buf, len);
    digest_final(&d, out);
}

int digest_fd(int fd, uint8_t out[DIGEST_LEN], uint64_t *size, struct evm_err *err)
{
    static const size_t chunk = 256 * 1024;
    unsigned char *buf = malloc(chunk);
    if (!buf)
        return evm_errf(err, ENOMEM, "out of memory");
    struct digest d;
    digest_init(&d);
    uint64_t total = 0;
    int r = 0;
    for (;;) {
        size_t got;
        r = read_full(fd, buf, chunk, &got, err, "hashing");
        if (r < 0)
            break;
        digest_update(&d, buf, got);
        total += got;
        if (got < chunk)
            break;
    }
    free(buf);
    if (r < 0)
        return r;
    digest_final(&d, out);
    if (size)
        *size = total;
    return 0;
}

void hex_encode(const uint8_t *in, size_t len, char *out)
{
    static const char hexd[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = hexd[in[i] >> 4];
        out[2 * i + 1] = hexd[in[i] & 15];
    }
    out[2 * len] = '\0';
}

int hex_decode(const char *in, size_t inlen, uint8_t *out, size_t len)
{
    if (inlen != 2 * len)
        return -EINVAL;
    for (size_t i = 0; i < len; i++) {
        int hi = hex_digit_value(in[2 * i]), lo = hex_digit_value(in[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -EINVAL;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}
