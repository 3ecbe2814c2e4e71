/* hostcfg.c — the host's config.toml (design §2 "The host config"): read it without ever
 * blocking (regular files only, bounded size), keep its exact bytes, and decode the keys
 * the agent uses through the TOML value layer (toml.h). */
#include "config/hostcfg.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmdline.h" /* CMDLINE_SWAP_MB_MAX, the guest's swap rule */
#include "log.h"
#include "fileutil.h"
#include "strutil.h"
#include "tail.h" /* HOSTCFG_MAX_BYTES */
#include "config/toml.h"

enum {
    K_CPUS,
    K_MEMORY_MB,
    K_DISK_SIZE_GB,
    K_SWAP_MB,
    K_DIND_ENABLED,
    K_DIND_ALLOW_PRIVILEGED,
    K_LOG_LEVEL,
    K_LOG_FORMAT,
    K_COUNT
};

struct int_range {
    long long min, max;
};

struct choices {
    const char *const *items; /* NULL-terminated */
    const char *list;         /* for messages */
};

static const struct int_range cpus_range = {1, 1024};
static const struct int_range memory_range = {64, 16777216};
static const struct int_range disk_range = {1, 65536};
static const struct int_range swap_range = {0, CMDLINE_SWAP_MB_MAX}; /* as ephemerd.swap_mb */
static const char *const level_items[] = {"error", "warn", "info", "debug", "trace", NULL};
static const char *const format_items[] = {"text", "json", NULL};
static const struct choices level_choices = {level_items, "error, warn, info, debug, trace"};
static const struct choices format_choices = {format_items, "text, json"};

static int check_int(const struct toml_value *v, const void *arg, struct evm_err *err)
{
    const struct int_range *rg = arg;
    if (v->type != TOML_INTEGER)
        return evm_errf(err, EINVAL, "expected an integer from %lld to %lld, got %s", rg->min,
                        rg->max, toml_type_name(v->type));
    if (v->u.integer < rg->min || v->u.integer > rg->max)
        return evm_errf(err, EINVAL, "%lld is out of range (%lld to %lld)", (long long)v->u.integer,
                        rg->min, rg->max);
    return 0;
}

static int check_bool(const struct toml_value *v, const void *arg, struct evm_err *err)
{
    (void)arg;
    if (v->type != TOML_BOOLEAN)
        return evm_errf(err, EINVAL, "expected true or false, got %s", toml_type_name(v->type));
    return 0;
}

static int check_choice(const struct toml_value *v, const void *arg, struct evm_err *err)
{
    const struct choices *c = arg;
    if (v->type != TOML_STRING)
        return evm_errf(err, EINVAL, "expected a string (one of %s), got %s", c->list,
                        toml_type_name(v->type));
    for (size_t i = 0; c->items[i]; i++)
        if (strcmp(v->u.str.ptr, c->items[i]) == 0)
            return 0;
    char shown[40];
    str_excerpt(shown, sizeof(shown), v->u.str.ptr, v->u.str.len, 32);
    return evm_errf(err, EINVAL, "\"%s\" is not one of %s", shown, c->list);
}

/* Copies the present wanted values (each passed its check: types and ranges hold). */
static void settings_from_wants(const struct toml_want *w, struct hostcfg_settings *s)
{
    if (w[K_CPUS].line)
        s->cpus = (unsigned)w[K_CPUS].value.u.integer;
    if (w[K_MEMORY_MB].line)
        s->memory_mb = (unsigned)w[K_MEMORY_MB].value.u.integer;
    if (w[K_DISK_SIZE_GB].line)
        s->disk_size_gb = (unsigned)w[K_DISK_SIZE_GB].value.u.integer;
    if (w[K_SWAP_MB].line) {
        s->swap_mb = (unsigned)w[K_SWAP_MB].value.u.integer;
        s->swap_mb_set = true;
    }
    if (w[K_DIND_ENABLED].line)
        s->dind_enabled = w[K_DIND_ENABLED].value.u.boolean;
    if (w[K_DIND_ALLOW_PRIVILEGED].line)
        s->dind_allow_privileged = w[K_DIND_ALLOW_PRIVILEGED].value.u.boolean;
    if (w[K_LOG_LEVEL].line)
        snprintf(s->log_level, sizeof(s->log_level), "%s", w[K_LOG_LEVEL].value.u.str.ptr);
    if (w[K_LOG_FORMAT].line)
        snprintf(s->log_format, sizeof(s->log_format), "%s", w[K_LOG_FORMAT].value.u.str.ptr);
}

int hostcfg_parse(const char *name, const char *bytes, size_t len, struct hostcfg_settings *s,
                  struct evm_err *err)
{
    memset(s, 0, sizeof(*s));
    if (len > HOSTCFG_MAX_BYTES)
        return evm_errf(err, EFBIG, "%s: %zu bytes, larger than the %u-byte (1 MiB) limit", name,
                        len, HOSTCFG_MAX_BYTES);
    struct toml_want w[K_COUNT] = {
        [K_CPUS] = {.path = "vm.linux.cpus", .check = check_int, .check_arg = &cpus_range},
        [K_MEMORY_MB] = {.path = "vm.linux.memory_mb",
                         .check = check_int,
                         .check_arg = &memory_range},
        [K_DISK_SIZE_GB] = {.path = "vm.linux.disk_size_gb",
                            .check = check_int,
                            .check_arg = &disk_range},
        [K_SWAP_MB] = {.path = "vm.linux.swap_mb", .check = check_int, .check_arg = &swap_range},
        [K_DIND_ENABLED] = {.path = "dind.enabled", .check = check_bool},
        [K_DIND_ALLOW_PRIVILEGED] = {.path = "dind.allow_privileged", .check = check_bool},
        [K_LOG_LEVEL] = {.path = "log.level", .check = check_choice, .check_arg = &level_choices},
        [K_LOG_FORMAT] = {.path = "log.format",
                          .check = check_choice,
                          .check_arg = &format_choices},
    };
    int r = toml_read(name, bytes, len, w, K_COUNT, err);
    if (r == 0)
        settings_from_wants(w, s);
    toml_wants_free(w, K_COUNT);
    return r;
}

/* ---- checks of settings that boot, but not as written -------------------------------- */

static void note_swap_floor(const struct hostcfg_settings *s, hostcfg_note_fn note, void *ctx)
{
    char msg[256];
    snprintf(msg, sizeof(msg),
             "vm.linux.swap_mb = %u is below the %u MiB minimum swapfile: the VM gets no swap "
             "(write 0 to say so, or at least %u)",
             s->swap_mb, SWAP_MIN_MB, SWAP_MIN_MB);
    note(ctx, LOG_WARN, msg);
}

static void note_swap_cap(const struct hostcfg_settings *s, unsigned swap_mb, unsigned disk_gb,
                          unsigned share_mb, hostcfg_note_fn note, void *ctx)
{
    char what[96], msg[320];
    if (s->swap_mb_set)
        snprintf(what, sizeof(what), "vm.linux.swap_mb = %u", swap_mb);
    else
        snprintf(what, sizeof(what), "the default swap of %u MiB (vm.linux.swap_mb unset)",
                 swap_mb);
    snprintf(msg, sizeof(msg),
             "%s is more than 1/%u of the %u GiB root disk%s: the guest will cap the swapfile "
             "to at most %u MiB",
             what, SWAP_FS_DIVISOR, disk_gb,
             s->disk_size_gb ? "" : " (vm.linux.disk_size_gb unset)", share_mb);
    note(ctx, s->swap_mb_set ? LOG_WARN : LOG_INFO, msg);
}

unsigned hostcfg_check_settings(const struct hostcfg_settings *s, hostcfg_note_fn note, void *ctx)
{
    unsigned n = 0;
    unsigned swap_mb = s->swap_mb_set ? s->swap_mb : CMDLINE_DEFAULT_SWAP_MB;
    unsigned disk_gb = s->disk_size_gb ? s->disk_size_gb : HOSTCFG_DEFAULT_DISK_GB;
    /* The guest's filesystem is a little smaller than the disk: "at most". */
    uint64_t share_mb = ((uint64_t)disk_gb << 10) / SWAP_FS_DIVISOR;
    if (swap_mb > 0 && swap_mb < SWAP_MIN_MB) {
        note_swap_floor(s, note, ctx);
        n++;
    } else if (swap_mb > share_mb) {
        note_swap_cap(s, swap_mb, disk_gb, (unsigned)share_mb, note, ctx);
        n++;
    }
    return n;
}

static void log_note(void *ctx, enum log_level level, const char *msg)
{
    log_msg(level, "%s: %s", (const char *)ctx, msg);
}

static void set_reason(struct hostcfg *cfg, const char *msg)
{
    size_t n = strnlen(msg, sizeof(cfg->reason) - 1);
    memcpy(cfg->reason, msg, n);
    cfg->reason[n] = '\0';
}

int hostcfg_load(const char *path, struct hostcfg *cfg, struct evm_err *err)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->state = HOSTCFG_MISSING;
    struct evm_err e = {0};
    char *buf = NULL;
    size_t len = 0;
    int r = read_regular_file(path, HOSTCFG_MAX_BYTES, &buf, &len, &e);
    if (r == -ENOENT) {
        set_reason(cfg, e.msg);
        log_info("host config %s not found; booting without it", path);
        return 0;
    }
    if (r == -EFBIG)
        return evm_errf(err, EFBIG,
                        "host config %s is larger than the %u-byte (1 MiB) limit; refusing to "
                        "boot with it (%s)",
                        path, HOSTCFG_MAX_BYTES, e.msg);
    if (r == -ENOMEM)
        return evm_errf(err, ENOMEM, "reading host config %s: out of memory", path);
    if (r < 0) {
        /* not a regular file (-EINVAL), permission denied (-EACCES), symlink loop, I/O
         * error...: the file cannot be used, but the VM can boot without it. */
        cfg->state = HOSTCFG_UNUSABLE;
        set_reason(cfg, e.msg);
        log_warn("host config %s is unusable, booting without it: %s", path, e.msg);
        return 0;
    }
    r = hostcfg_parse(path, buf, len, &cfg->settings, err);
    if (r < 0) {
        free(buf);
        return r;
    }
    cfg->state = HOSTCFG_OK;
    cfg->bytes = buf;
    cfg->len = len;
    hostcfg_check_settings(&cfg->settings, log_note, (void *)path);
    return 0;
}

void hostcfg_free(struct hostcfg *cfg)
{
    if (!cfg)
        return;
    free(cfg->bytes);
    cfg->bytes = NULL;
    cfg->len = 0;
}
