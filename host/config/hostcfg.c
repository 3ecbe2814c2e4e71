/* hostcfg.c — the host's config.toml (design §2 "The host config"): read it without ever
 * blocking (regular files only, bounded size), keep its exact bytes, and decode the keys
 * the agent uses through the TOML value layer (toml.h). Owns the one table of those keys
 * (names, types, limits, defaults): the source of truth for the config check, the VM
 * backends' size limits, `config show`, docs/host-config.md and test/config's generator. */
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

/* ---- the key table ------------------------------------------------------------------- */

static const char *const level_items[] = {"error", "warn", "info", "debug", "trace", NULL};
static const char *const format_items[] = {"text", "json", NULL};

static const struct hostcfg_keydef keydefs[HOSTCFG_NKEYS] = {
    [HOSTCFG_CPUS] = {.path = "vm.linux.cpus",
                      .kind = HOSTCFG_INT,
                      .min = 1,
                      .max = 1024,
                      .def = HOSTCFG_DEFAULT_CPUS},
    [HOSTCFG_MEMORY_MB] = {.path = "vm.linux.memory_mb",
                           .kind = HOSTCFG_INT,
                           .min = HOSTCFG_MIN_MEMORY_MB,
                           .max = 16777216,
                           .def = HOSTCFG_DEFAULT_MEMORY_MB},
    [HOSTCFG_DISK_SIZE_GB] = {.path = "vm.linux.disk_size_gb",
                              .kind = HOSTCFG_INT,
                              .min = 1,
                              .max = 65536,
                              .def = HOSTCFG_DEFAULT_DISK_GB},
    /* as ephemerd.swap_mb on the kernel command line, whose default it has */
    [HOSTCFG_SWAP_MB] = {.path = "vm.linux.swap_mb",
                         .kind = HOSTCFG_INT,
                         .min = 0,
                         .max = CMDLINE_SWAP_MB_MAX,
                         .def = CMDLINE_DEFAULT_SWAP_MB},
    [HOSTCFG_DIND_ENABLED] = {.path = "dind.enabled", .kind = HOSTCFG_BOOL, .max = 1, .def = 0},
    [HOSTCFG_DIND_ALLOW_PRIVILEGED] = {.path = "dind.allow_privileged",
                                       .kind = HOSTCFG_BOOL,
                                       .max = 1,
                                       .def = 0},
    [HOSTCFG_LOG_LEVEL] = {.path = "log.level",
                           .kind = HOSTCFG_CHOICE,
                           .choices = level_items,
                           .choice_list = "error, warn, info, debug, trace",
                           .def_str = HOSTCFG_DEFAULT_LOG_LEVEL},
    [HOSTCFG_LOG_FORMAT] = {.path = "log.format",
                            .kind = HOSTCFG_CHOICE,
                            .choices = format_items,
                            .choice_list = "text, json",
                            .def_str = HOSTCFG_DEFAULT_LOG_FORMAT},
};

const struct hostcfg_keydef *hostcfg_keydef(enum hostcfg_key k)
{
    return &keydefs[k];
}

int hostcfg_check_vm_size(unsigned cpus, unsigned memory_mb, struct evm_err *err)
{
    const struct hostcfg_keydef *c = &keydefs[HOSTCFG_CPUS], *m = &keydefs[HOSTCFG_MEMORY_MB];
    if (cpus < c->min || cpus > c->max)
        return evm_errf(err, EINVAL, "vm: %u CPUs is out of range (%lld to %lld, %s)", cpus, c->min,
                        c->max, c->path);
    if (memory_mb < m->min || memory_mb > m->max)
        return evm_errf(err, EINVAL, "vm: %u MiB of memory is out of range (%lld to %lld, %s)",
                        memory_mb, m->min, m->max, m->path);
    return 0;
}

unsigned hostcfg_uint(const struct hostcfg_settings *s, enum hostcfg_key k)
{
    if (!s->line[k])
        return (unsigned)keydefs[k].def;
    switch (k) {
    case HOSTCFG_CPUS:
        return s->cpus;
    case HOSTCFG_MEMORY_MB:
        return s->memory_mb;
    case HOSTCFG_DISK_SIZE_GB:
        return s->disk_size_gb;
    case HOSTCFG_SWAP_MB:
        return s->swap_mb;
    default:
        return (unsigned)keydefs[k].def;
    }
}

bool hostcfg_bool(const struct hostcfg_settings *s, enum hostcfg_key k)
{
    if (!s->line[k])
        return keydefs[k].def != 0;
    if (k == HOSTCFG_DIND_ENABLED)
        return s->dind_enabled;
    if (k == HOSTCFG_DIND_ALLOW_PRIVILEGED)
        return s->dind_allow_privileged;
    return keydefs[k].def != 0;
}

const char *hostcfg_str(const struct hostcfg_settings *s, enum hostcfg_key k)
{
    if (s->line[k] && k == HOSTCFG_LOG_LEVEL)
        return s->log_level;
    if (s->line[k] && k == HOSTCFG_LOG_FORMAT)
        return s->log_format;
    return keydefs[k].def_str ? keydefs[k].def_str : "";
}

void hostcfg_apply_log(const struct hostcfg_settings *s)
{
    enum log_level level = LOG_INFO;
    enum log_format format = LOG_FORMAT_TEXT;
    /* The check let only these names through; a failed parse keeps the default. */
    (void)log_level_parse(hostcfg_str(s, HOSTCFG_LOG_LEVEL), &level);
    (void)log_format_parse(hostcfg_str(s, HOSTCFG_LOG_FORMAT), &format);
    log_configure(level, format);
}

void hostcfg_apply_log_file(const char *path)
{
    struct hostcfg_settings s;
    struct evm_err e = {0};
    char *buf = NULL;
    size_t len = 0;
    memset(&s, 0, sizeof(s));
    if (read_regular_file(path, HOSTCFG_MAX_BYTES, &buf, &len, &e) == 0 &&
        hostcfg_parse(path, buf, len, &s, &e) < 0)
        memset(&s, 0, sizeof(s));
    free(buf);
    hostcfg_apply_log(&s);
}

/* ---- the config check: each wanted key's value against its row ------------------------ */

static int check_int(const struct toml_value *v, const void *arg, struct evm_err *err)
{
    const struct hostcfg_keydef *d = arg;
    if (v->type != TOML_INTEGER)
        return evm_errf(err, EINVAL, "expected an integer from %lld to %lld, got %s", d->min,
                        d->max, toml_type_name(v->type));
    if (v->u.integer < d->min || v->u.integer > d->max)
        return evm_errf(err, EINVAL, "%lld is out of range (%lld to %lld)", (long long)v->u.integer,
                        d->min, d->max);
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
    const struct hostcfg_keydef *d = arg;
    if (v->type != TOML_STRING)
        return evm_errf(err, EINVAL, "expected a string (one of %s), got %s", d->choice_list,
                        toml_type_name(v->type));
    for (size_t i = 0; d->choices[i]; i++)
        if (strcmp(v->u.str.ptr, d->choices[i]) == 0)
            return 0;
    char shown[40];
    str_excerpt(shown, sizeof(shown), v->u.str.ptr, v->u.str.len, 32);
    return evm_errf(err, EINVAL, "\"%s\" is not one of %s", shown, d->choice_list);
}

static const toml_check_fn checks[] = {
    [HOSTCFG_INT] = check_int,
    [HOSTCFG_BOOL] = check_bool,
    [HOSTCFG_CHOICE] = check_choice,
};

/* Copies the present wanted values (each passed its check: types and ranges hold). */
static void settings_from_wants(const struct toml_want *w, struct hostcfg_settings *s)
{
    for (size_t k = 0; k < HOSTCFG_NKEYS; k++)
        s->line[k] = w[k].line;
    if (w[HOSTCFG_CPUS].line)
        s->cpus = (unsigned)w[HOSTCFG_CPUS].value.u.integer;
    if (w[HOSTCFG_MEMORY_MB].line)
        s->memory_mb = (unsigned)w[HOSTCFG_MEMORY_MB].value.u.integer;
    if (w[HOSTCFG_DISK_SIZE_GB].line)
        s->disk_size_gb = (unsigned)w[HOSTCFG_DISK_SIZE_GB].value.u.integer;
    if (w[HOSTCFG_SWAP_MB].line)
        s->swap_mb = (unsigned)w[HOSTCFG_SWAP_MB].value.u.integer;
    if (w[HOSTCFG_DIND_ENABLED].line)
        s->dind_enabled = w[HOSTCFG_DIND_ENABLED].value.u.boolean;
    if (w[HOSTCFG_DIND_ALLOW_PRIVILEGED].line)
        s->dind_allow_privileged = w[HOSTCFG_DIND_ALLOW_PRIVILEGED].value.u.boolean;
    if (w[HOSTCFG_LOG_LEVEL].line)
        snprintf(s->log_level, sizeof(s->log_level), "%s", w[HOSTCFG_LOG_LEVEL].value.u.str.ptr);
    if (w[HOSTCFG_LOG_FORMAT].line)
        snprintf(s->log_format, sizeof(s->log_format), "%s", w[HOSTCFG_LOG_FORMAT].value.u.str.ptr);
}

int hostcfg_parse(const char *name, const char *bytes, size_t len, struct hostcfg_settings *s,
                  struct evm_err *err)
{
    memset(s, 0, sizeof(*s));
    if (len > HOSTCFG_MAX_BYTES)
        return evm_errf(err, EFBIG, "%s: %zu bytes, larger than the %u-byte (1 MiB) limit", name,
                        len, HOSTCFG_MAX_BYTES);
    struct toml_want w[HOSTCFG_NKEYS];
    memset(w, 0, sizeof(w));
    for (size_t k = 0; k < HOSTCFG_NKEYS; k++) {
        w[k].path = keydefs[k].path;
        w[k].check = checks[keydefs[k].kind];
        w[k].check_arg = &keydefs[k];
    }
    int r = toml_read(name, bytes, len, w, HOSTCFG_NKEYS, err);
    if (r == 0)
        settings_from_wants(w, s);
    toml_wants_free(w, HOSTCFG_NKEYS);
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
    if (s->line[HOSTCFG_SWAP_MB])
        snprintf(what, sizeof(what), "vm.linux.swap_mb = %u", swap_mb);
    else
        snprintf(what, sizeof(what), "the default swap of %u MiB (vm.linux.swap_mb unset)",
                 swap_mb);
    snprintf(msg, sizeof(msg),
             "%s is more than 1/%u of the %u GiB root disk%s: the guest will cap the swapfile "
             "to at most %u MiB",
             what, SWAP_FS_DIVISOR, disk_gb,
             s->line[HOSTCFG_DISK_SIZE_GB] ? "" : " (vm.linux.disk_size_gb unset)", share_mb);
    note(ctx, s->line[HOSTCFG_SWAP_MB] ? LOG_WARN : LOG_INFO, msg);
}

unsigned hostcfg_check_settings(const struct hostcfg_settings *s, hostcfg_note_fn note, void *ctx)
{
    unsigned n = 0;
    unsigned swap_mb = hostcfg_uint(s, HOSTCFG_SWAP_MB);
    unsigned disk_gb = hostcfg_uint(s, HOSTCFG_DISK_SIZE_GB);
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
