/* fuzz_stopreq.c — libFuzzer target for the console's stop request reader (guest/stopreq.c):
 * arbitrary console input must never crash it, how the bytes are split across reads must not
 * change what is decided, and no more requests can count than the input has lines. The
 * first input byte picks the split point; the rest is the console input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "stopreq.h"

#define BOOT_ID "0123456789abcdef0123456789abcdef"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Everything fed, then the end of input (the pending partial line is decided too). */
static unsigned run(const char *in, size_t n, size_t split)
{
    struct stopreq r;
    if (stopreq_init(&r, -1, BOOT_ID, NULL) < 0)
        abort();
    unsigned got = stopreq_feed(&r, in, split);
    got += stopreq_feed(&r, in + split, n - split);
    got += stopreq_feed(&r, "\n", 1);
    stopreq_free(&r);
    return got;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    log_init("fuzz_stopreq", LOG_ERROR);
    if (size < 1)
        return 0;
    size_t n = size - 1;
    /* An exact-size copy, so ASan catches any read past the end. */
    char *in = malloc(n ? n : 1);
    if (!in)
        return 0;
    memcpy(in, data + 1, n);
    size_t split = n ? data[0] % (n + 1) : 0;
    unsigned whole = run(in, n, 0);
    unsigned parts = run(in, n, split);
    size_t lines = 1;
    for (size_t i = 0; i < n; i++)
        lines += in[i] == '\n';
    free(in);
    if (whole != parts || whole > lines)
        abort();
    return 0;
}
