/* fuzz_manifest.c — libFuzzer target for the tail manifest parser (common/manifest.c):
 * arbitrary bytes must never crash it, and whatever it accepts must survive
 * format → parse unchanged, with format's output a fixed point. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int same(const struct manifest *a, const struct manifest *b)
{
    if (strcmp(a->boot_id, b->boot_id) != 0 || a->nfiles != b->nfiles)
        return 0;
    for (size_t i = 0; i < a->nfiles; i++) {
        const struct manifest_file *x = &a->files[i], *y = &b->files[i];
        if (strcmp(x->path, y->path) != 0 || x->mode != y->mode || x->size != y->size ||
            memcmp(x->sha256, y->sha256, sizeof(x->sha256)) != 0)
            return 0;
    }
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct manifest m, back;
    struct evm_err err = {0};
    if (manifest_parse((const char *)data, size, &m, &err) != 0) {
        if (err.code == 0 || err.msg[0] == '\0')
            abort(); /* every rejection says why */
        return 0;
    }
    static char text[MANIFEST_MAX_BYTES], again[MANIFEST_MAX_BYTES];
    size_t len = 0, len2 = 0;
    if (manifest_format(&m, text, sizeof(text), &len, &err) != 0)
        abort();
    if (manifest_parse(text, len, &back, &err) != 0)
        abort();
    if (!same(&m, &back))
        abort();
    if (manifest_format(&back, again, sizeof(again), &len2, &err) != 0 || len2 != len ||
        memcmp(text, again, len) != 0)
        abort();
    return 0;
}
