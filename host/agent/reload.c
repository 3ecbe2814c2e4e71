/* reload.c — see reload.h. */
#include "agent/reload.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

struct changes {
    char *out;
    size_t size, len;
    unsigned n;
};

static void add(struct changes *c, const char *text)
{
    int w = snprintf(c->out + c->len, c->size - c->len, "%s%s", c->n ? ", " : "", text);
    if (w > 0)
        c->len += (size_t)w < c->size - c->len ? (size_t)w : c->size - c->len - 1;
    c->n++;
}

static bool same_embedded(const struct hostcfg *a, const struct hostcfg *b)
{
    bool a_ok = a->state == HOSTCFG_OK, b_ok = b->state == HOSTCFG_OK;
    if (a_ok != b_ok)
        return false;
    return !a_ok || (a->len == b->len && memcmp(a->bytes, b->bytes, a->len) == 0);
}

static void compare_size(struct changes *c, const struct hostcfg *old, const struct hostcfg *new,
                         enum hostcfg_key k, const char *name)
{
    unsigned was = hostcfg_uint(&old->settings, k), now = hostcfg_uint(&new->settings, k);
    if (was == now)
        return;
    char text[64];
    snprintf(text, sizeof(text), "%s %u -> %u", name, was, now);
    add(c, text);
}

unsigned reload_changes(const struct hostcfg *old, const char *old_cmdline,
                        const struct hostcfg *new, const char *new_cmdline, char *what,
                        size_t what_size)
{
    struct changes c = {.out = what, .size = what_size};
    if (!what_size)
        return 0;
    what[0] = '\0';
    if (!same_embedded(old, new))
        add(&c, "embedded config.toml");
    if (strcmp(old_cmdline, new_cmdline) != 0)
        add(&c, "kernel command line");
    compare_size(&c, old, new, HOSTCFG_CPUS, "cpus");
    compare_size(&c, old, new, HOSTCFG_MEMORY_MB, "memory_mb");
    compare_size(&c, old, new, HOSTCFG_DISK_SIZE_GB, "disk_size_gb");
    return c.n;
}
