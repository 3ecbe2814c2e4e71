/* fuzz_cmdline.c — libFuzzer target for the kernel command-line parser (common/cmdline.c):
 * arbitrary NUL-terminated input must never crash it, and whatever it accepts must be
 * buildable and parse back to the same parameters. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cmdline.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void on_warn(void *ctx, const char *msg)
{
    (void)ctx;
    if (!msg || strlen(msg) >= 512)
        abort();
}

static int same(const struct boot_params *a, const struct boot_params *b)
{
    return a->containerd_port == b->containerd_port && strcmp(a->root_disk, b->root_disk) == 0 &&
           a->dind == b->dind && a->dind_allow_privileged == b->dind_allow_privileged &&
           strcmp(a->boot_id, b->boot_id) == 0 && a->swap_mb == b->swap_mb &&
           a->disk_timeout == b->disk_timeout && a->on_fatal == b->on_fatal;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *line = malloc(size + 1);
    if (!line)
        return 0;
    memcpy(line, data, size);
    line[size] = '\0';
    struct boot_params p, q;
    struct evm_err err = {0};
    int r = cmdline_parse(line, &p, on_warn, NULL, &err);
    free(line);
    if (r != 0) {
        if (r != -EINVAL)
            abort();
        if (err.msg[0] == '\0')
            abort();
        return 0;
    }
    char built[CMDLINE_MAX];
    if (cmdline_build(&p, NULL, 0, built, sizeof(built), &err) != 0)
        abort();
    if (cmdline_parse(built, &q, on_warn, NULL, &err) != 0)
        abort();
    if (!same(&p, &q))
        abort();
    return 0;
}
