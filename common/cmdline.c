/* cmdline.c — the kernel command line (design §3). One static key table drives the
 * defaults, the host's builder and the guest's parser, so the two sides cannot drift:
 * every value the builder emits passes the same validator the parser applies. */
#include "cmdline.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "bootid.h"
#include "strutil.h"

#define KEY_PREFIX "ephemerd."
#define CMDLINE_HEAD "rdinit=/init"
#define CMDLINE_TAIL "panic=-1 console=ttyS0,115200"
#define DISK_TIMEOUT_MAX 3600u

enum key_kind {
    KEY_UINT, /* unsigned in [min, max], always emitted */
    KEY_FLAG, /* bool: "=1" enables; emitted only when set */
    KEY_STR,  /* char[size] checked by a validator; emitted only when non-empty */
    KEY_ENUM, /* enum on_fatal, by name; always emitted */
};

struct key {
    const char *name;
    enum key_kind kind;
    size_t off;  /* field offset in struct boot_params */
    size_t size; /* KEY_STR: field size */
    unsigned min, max, def;
    int (*valid)(const char *v, size_t n); /* KEY_STR */
    const char *expect;                    /* for error messages */
};

static const char *const on_fatal_names[] = {"poweroff", "shell", "hang"};
#define N_ON_FATAL (sizeof(on_fatal_names) / sizeof(on_fatal_names[0]))

/* "/dev/<name>": name of [a-z0-9._-], starting with [a-z0-9] (so never "." or ".."),
 * no further slashes. */
static int root_disk_valid(const char *v, size_t n)
{
    static const char dev[] = "/dev/";
    size_t plen = sizeof(dev) - 1;
    if (n <= plen || n >= sizeof(((struct boot_params *)0)->root_disk) || memcmp(v, dev, plen) != 0)
        return 0;
    for (size_t i = plen; i < n; i++) {
        char c = v[i];
        int alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        if (!alnum && (i == plen || (c != '.' && c != '_' && c != '-')))
            return 0;
    }
    return 1;
}

static int boot_id_span_valid(const char *v, size_t n)
{
    char tmp[BOOT_ID_HEX_LEN + 1];
    if (n != BOOT_ID_HEX_LEN)
        return 0;
    memcpy(tmp, v, n);
    tmp[n] = '\0';
    return boot_id_valid(tmp);
}

#define F(field) offsetof(struct boot_params, field)
#define FS(field) sizeof(((struct boot_params *)0)->field)

static const struct key keys[] = {
    {"ephemerd.containerd_port", KEY_UINT, F(containerd_port), 0, 1, 65535, CMDLINE_DEFAULT_PORT,
     NULL, "a port number 1-65535"},
    {"ephemerd.root_disk", KEY_STR, F(root_disk), FS(root_disk), 0, 0, 0, root_disk_valid,
     "/dev/<name>, name of [a-z0-9._-] starting with [a-z0-9]"},
    {"ephemerd.dind", KEY_FLAG, F(dind), 0, 0, 0, 0, NULL, "1"},
    {"ephemerd.dind_allow_privileged", KEY_FLAG, F(dind_allow_privileged), 0, 0, 0, 0, NULL, "1"},
    {"ephemerd.boot_id", KEY_STR, F(boot_id), FS(boot_id), 0, 0, 0, boot_id_span_valid,
     "32 lowercase hex digits"},
    {"ephemerd.swap_mb", KEY_UINT, F(swap_mb), 0, 0, CMDLINE_SWAP_MB_MAX, CMDLINE_DEFAULT_SWAP_MB,
     NULL, "megabytes 0-1048576 (0 = no swap)"},
    {"ephemerd.disk_timeout", KEY_UINT, F(disk_timeout), 0, 1, DISK_TIMEOUT_MAX,
     CMDLINE_DEFAULT_DISK_TIMEOUT, NULL, "seconds 1-3600"},
    {"ephemerd.on_fatal", KEY_ENUM, F(on_fatal), 0, 0, N_ON_FATAL - 1, ON_FATAL_POWEROFF, NULL,
     "poweroff, shell or hang"},
};
#define N_KEYS (sizeof(keys) / sizeof(keys[0]))

#undef F
#undef FS

static unsigned *field_uint(struct boot_params *p, const struct key *k)
{
    return (unsigned *)((char *)p + k->off);
}
static bool *field_bool(struct boot_params *p, const struct key *k)
{
    return (bool *)((char *)p + k->off);
}
static char *field_str(struct boot_params *p, const struct key *k)
{
    return (char *)p + k->off;
}
static enum on_fatal *field_enum(struct boot_params *p, const struct key *k)
{
    return (enum on_fatal *)((char *)p + k->off);
}
static const void *cfield(const struct boot_params *p, const struct key *k)
{
    return (const char *)p + k->off;
}

const char *on_fatal_name(enum on_fatal f)
{
    return (unsigned)f < N_ON_FATAL ? on_fatal_names[f] : "invalid";
}

void boot_params_defaults(struct boot_params *p)
{
    memset(p, 0, sizeof(*p));
    for (size_t i = 0; i < N_KEYS; i++) {
        const struct key *k = &keys[i];
        switch (k->kind) {
        case KEY_UINT:
            *field_uint(p, k) = k->def;
            break;
        case KEY_FLAG:
            *field_bool(p, k) = false;
            break;
        case KEY_STR:
            field_str(p, k)[0] = '\0';
            break;
        case KEY_ENUM:
            *field_enum(p, k) = (enum on_fatal)k->def;
            break;
        }
    }
}

/* A kernel command-line token: no whitespace, quotes or control characters, and not
 * empty. Bytes >= 0x7f are refused too: the line is ASCII. */
static int token_ok(const char *s, size_t n)
{
    if (n == 0)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= 0x20 || c >= 0x7f || c == '"' || c == '\'')
            return 0;
    }
    return 1;
}

/* A printable excerpt of untrusted text for messages: at most 64 bytes, non-printable
 * bytes shown as '?'. */
static void excerpt(const char *s, size_t n, char out[72])
{
    str_excerpt(out, 72, s, n, 64);
}

/* ---- builder ----------------------------------------------------------------------- */

struct line {
    char buf[CMDLINE_MAX];
    size_t len;
    bool over;
};

static void line_add(struct line *l, const char *s, size_t n)
{
    size_t sep = l->len ? 1 : 0;
    if (l->over || l->len + sep + n + 1 > sizeof(l->buf)) {
        l->over = true;
        return;
    }
    if (sep)
        l->buf[l->len++] = ' ';
    memcpy(l->buf + l->len, s, n);
    l->len += n;
    l->buf[l->len] = '\0';
}

/* Formats key k of p as "name=value" into out; 0 when it is not emitted, 1 when it is,
 * or a negative errno for an invalid value. */
static int key_format(const struct key *k, const struct boot_params *p, char *out, size_t cap,
                      struct evm_err *err)
{
    char ex[72];
    switch (k->kind) {
    case KEY_UINT: {
        unsigned v = *(const unsigned *)cfield(p, k);
        if (v < k->min || v > k->max)
            return evm_errf(err, EINVAL, "%s: invalid value %u (expected %s)", k->name, v,
                            k->expect);
        snprintf(out, cap, "%s=%u", k->name, v);
        return 1;
    }
    case KEY_FLAG:
        if (!*(const bool *)cfield(p, k))
            return 0;
        snprintf(out, cap, "%s=1", k->name);
        return 1;
    case KEY_STR: {
        const char *s = (const char *)cfield(p, k);
        size_t n = strnlen(s, k->size);
        if (n == k->size) {
            excerpt(s, n, ex);
            return evm_errf(err, EINVAL, "%s: value \"%s\" is not terminated", k->name, ex);
        }
        if (n == 0)
            return 0;
        if (!token_ok(s, n) || !k->valid(s, n)) {
            excerpt(s, n, ex);
            return evm_errf(err, EINVAL, "%s: invalid value \"%s\" (expected %s)", k->name, ex,
                            k->expect);
        }
        snprintf(out, cap, "%s=%s", k->name, s);
        return 1;
    }
    case KEY_ENUM: {
        enum on_fatal v = *(const enum on_fatal *)cfield(p, k);
        if ((unsigned)v > k->max)
            return evm_errf(err, EINVAL, "%s: invalid value %d (expected %s)", k->name, (int)v,
                            k->expect);
        snprintf(out, cap, "%s=%s", k->name, on_fatal_names[v]);
        return 1;
    }
    }
    return evm_errf(err, EINVAL, "%s: unknown key kind", k->name);
}

int cmdline_build(const struct boot_params *p, const char *const *extras, size_t nextras, char *buf,
                  size_t cap, struct evm_err *err)
{
    if (!p || !buf || cap == 0 || (nextras > 0 && !extras))
        return evm_errf(err, EINVAL, "cmdline_build: invalid arguments");
    struct line l = {.len = 0, .over = false};
    l.buf[0] = '\0';
    line_add(&l, CMDLINE_HEAD, strlen(CMDLINE_HEAD));
    for (size_t i = 0; i < N_KEYS; i++) {
        char tok[128];
        int r = key_format(&keys[i], p, tok, sizeof(tok), err);
        if (r < 0)
            return r;
        if (r == 0)
            continue;
        size_t n = strlen(tok);
        if (!token_ok(tok, n)) /* defence in depth: validators already guarantee this */
            return evm_errf(err, EINVAL, "%s: value would not be a single token", keys[i].name);
        line_add(&l, tok, n);
    }
    line_add(&l, CMDLINE_TAIL, strlen(CMDLINE_TAIL));
    for (size_t i = 0; i < nextras; i++) {
        const char *x = extras[i];
        if (!x)
            return evm_errf(err, EINVAL, "kernel command-line extra %u is NULL", (unsigned)i + 1);
        size_t n = strlen(x);
        char ex[72];
        excerpt(x, n, ex);
        if (!token_ok(x, n))
            return evm_errf(err, EINVAL,
                            "kernel command-line extra \"%s\" is empty or contains "
                            "whitespace, quotes or control characters",
                            ex);
        if (strncmp(x, KEY_PREFIX, strlen(KEY_PREFIX)) == 0)
            return evm_errf(err, EINVAL,
                            "kernel command-line extra \"%s\" would override an ephemerd key", ex);
        line_add(&l, x, n);
    }
    if (l.over)
        return evm_errf(err, E2BIG,
                        "kernel command line is longer than the kernel accepts (%d bytes with "
                        "the terminating NUL)",
                        CMDLINE_MAX);
    if (l.len + 1 > cap)
        return evm_errf(err, ENOSPC, "kernel command line needs %u bytes, buffer has %llu",
                        (unsigned)l.len + 1, (unsigned long long)cap);
    memcpy(buf, l.buf, l.len + 1);
    return 0;
}

/* ---- parser ------------------------------------------------------------------------ */

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

struct param {
    const char *name;
    size_t name_len;
    const char *val; /* NULL when the token has no '=' */
    size_t val_len;
};

/* Splits the next parameter off *s the way the kernel's next_arg() does: whitespace
 * separates tokens except inside double quotes; a token starting with '"' loses that quote
 * and a matching trailing one; a value starting with '"' loses it and a trailing '"'.
 * Returns 0 at the end of the line. */
static int next_param(const char **s, struct param *out)
{
    const char *a = *s;
    while (*a && is_space(*a))
        a++;
    if (!*a) {
        *s = a;
        return 0;
    }
    bool quoted = false, in_quote = false;
    if (*a == '"') {
        a++;
        quoted = in_quote = true;
    }
    size_t i, equals = 0;
    bool has_eq = false;
    for (i = 0; a[i]; i++) {
        if (is_space(a[i]) && !in_quote)
            break;
        if (!has_eq && a[i] == '=') {
            has_eq = true;
            equals = i;
        }
        if (a[i] == '"')
            in_quote = !in_quote;
    }
    size_t end = i; /* token is a[0, end) */
    bool strip_last = quoted && end > 0 && a[end - 1] == '"';
    out->name = a;
    if (!has_eq) {
        out->name_len = strip_last ? end - 1 : end;
        out->val = NULL;
        out->val_len = 0;
    } else {
        out->name_len = equals;
        const char *v = a + equals + 1;
        size_t vend = end;
        if (*v == '"' && v < a + end) {
            v++;
            if (end > 0 && a[end - 1] == '"' && a + end - 1 >= v)
                vend = end - 1;
            strip_last = false;
        }
        if (strip_last)
            vend = end - 1;
        out->val = v;
        out->val_len = a + vend >= v ? (size_t)(a + vend - v) : 0;
    }
    *s = a + end;
    return 1;
}

static int parse_uint(const char *v, size_t n, unsigned min, unsigned max, unsigned *out)
{
    if (n == 0 || n > 10)
        return -1;
    uint64_t x = 0;
    for (size_t i = 0; i < n; i++) {
        if (v[i] < '0' || v[i] > '9')
            return -1;
        x = x * 10 + (uint64_t)(v[i] - '0');
    }
    if (x < min || x > max)
        return -1;
    *out = (unsigned)x;
    return 0;
}

static int key_parse(const struct key *k, const struct param *pr, struct boot_params *p,
                     cmdline_warn_fn warn, void *ctx, struct evm_err *err)
{
    const char *v = pr->val ? pr->val : "";
    size_t n = pr->val ? pr->val_len : 0;
    char ex[72];
    excerpt(v, n, ex);
    if (k->kind == KEY_FLAG) {
        bool on = pr->val && n == 1 && v[0] == '1';
        if (!on && warn) {
            char msg[256];
            if (pr->val)
                snprintf(msg, sizeof(msg), "%s=\"%s\" is not 1: treated as disabled", k->name, ex);
            else
                snprintf(msg, sizeof(msg), "%s without a value is not %s=1: treated as disabled",
                         k->name, k->name);
            warn(ctx, msg);
        }
        *field_bool(p, k) = on;
        return 0;
    }
    if (!pr->val)
        return evm_errf(err, EINVAL, "%s has no value (expected %s)", k->name, k->expect);
    switch (k->kind) {
    case KEY_UINT:
        if (parse_uint(v, n, k->min, k->max, field_uint(p, k)) == 0)
            return 0;
        break;
    case KEY_STR:
        if (n > 0 && n < k->size && token_ok(v, n) && k->valid(v, n)) {
            memcpy(field_str(p, k), v, n);
            field_str(p, k)[n] = '\0';
            return 0;
        }
        break;
    case KEY_ENUM:
        for (size_t i = 0; i < N_ON_FATAL; i++) {
            if (strlen(on_fatal_names[i]) == n && memcmp(on_fatal_names[i], v, n) == 0) {
                *field_enum(p, k) = (enum on_fatal)i;
                return 0;
            }
        }
        break;
    case KEY_FLAG:
        break;
    }
    return evm_errf(err, EINVAL, "%s: invalid value \"%s\" (expected %s)", k->name, ex, k->expect);
}

int cmdline_parse(const char *line, struct boot_params *p, cmdline_warn_fn warn, void *ctx,
                  struct evm_err *err)
{
    if (!line || !p)
        return evm_errf(err, EINVAL, "cmdline_parse: invalid arguments");
    struct boot_params out;
    boot_params_defaults(&out);
    const char *s = line;
    struct param pr;
    while (next_param(&s, &pr)) {
        /* "--" ends the kernel's parameters; what follows is init's argv. */
        if (!pr.val && pr.name_len == 2 && memcmp(pr.name, "--", 2) == 0)
            break;
        size_t plen = strlen(KEY_PREFIX);
        if (pr.name_len < plen || memcmp(pr.name, KEY_PREFIX, plen) != 0)
            continue; /* someone else's kernel parameter */
        const struct key *k = NULL;
        for (size_t i = 0; i < N_KEYS && !k; i++)
            if (strlen(keys[i].name) == pr.name_len &&
                memcmp(keys[i].name, pr.name, pr.name_len) == 0)
                k = &keys[i];
        if (!k) {
            char ex[72];
            excerpt(pr.name, pr.name_len, ex);
            if (warn) {
                char msg[128];
                snprintf(msg, sizeof(msg), "unknown key %s ignored", ex);
                warn(ctx, msg);
            }
            continue;
        }
        int r = key_parse(k, &pr, &out, warn, ctx, err);
        if (r < 0)
            return r;
    }
    *p = out;
    return 0;
}
