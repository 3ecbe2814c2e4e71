/* baselist.c — the base initrd list parser (see baselist.h): reading the list file,
 * splitting lines and fields, the table of directives and their field counts, destination
 * and mode checks, and sources relative to the list's directory. */
#include "initrd/baselist.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fileutil.h"
#include "initrd/hostpath.h"
#include "strutil.h"

#define LIST_MAX_BYTES (1024u * 1024u)
#define MAX_FIELDS 5

/* Which fields a directive has: PATH at 1 unless no_dest, MODE at mode_at (0: none),
 * the argument at arg_at (0: none); up to max_fields when it takes options (0: exactly
 * nfields). */
struct syntax {
    const char *name;
    enum baselist_kind kind;
    int nfields;
    const char *usage;
    int no_dest, mode_at, arg_at, max_fields;
};

static const struct syntax syntaxes[] = {
    {"dir", BASELIST_DIR, 3, "dir PATH MODE", 0, 2, 0, 0},
    {"init", BASELIST_INIT, 2, "init PATH", 0, 0, 0, 0},
    {"rootfs", BASELIST_ROOTFS, 2, "rootfs PATH", 0, 0, 0, 0},
    {"link", BASELIST_LINK, 3, "link PATH TARGET", 0, 0, 2, 0},
    {"module", BASELIST_MODULE, 2, "module NAME [later|demand] [optional]", 1, 0, 1, 4},
    {"file", BASELIST_FILE, 4, "file PATH SOURCE MODE", 0, 3, 2, 0},
    {"bin", BASELIST_BIN, 3, "bin PATH SOURCE", 0, 0, 2, 0},
};

/* The parse of one list file. */
struct parser {
    const char *list;
    char *list_dir; /* for relative sources */
    baselist_fn fn;
    void *ctx;
};

int baselist_dest(const char *s, const char **out, const char *where, struct evm_err *err)
{
    if (s[0] != '/' || s[1] == '\0')
        return evm_errf(err, EINVAL, "%s: '%s': destination must be an absolute path below /",
                        where, s);
    const char *c = s + 1;
    for (;;) {
        const char *end = strchr(c, '/');
        size_t len = end ? (size_t)(end - c) : strlen(c);
        if (len == 0 || (len == 1 && c[0] == '.') || (len == 2 && c[0] == '.' && c[1] == '.'))
            return evm_errf(err, EINVAL, "%s: '%s': empty, '.' or '..' component in a destination",
                            where, s);
        if (!end)
            break;
        c = end + 1;
    }
    *out = s + 1;
    return 0;
}

static int parse_mode(const char *s, unsigned *mode, const char *where, struct evm_err *err)
{
    unsigned v = 0;
    size_t n = strlen(s);
    if (n == 0 || n > 4)
        return evm_errf(err, EINVAL, "%s: mode '%s': expected 1 to 4 octal digits", where, s);
    for (const char *c = s; *c; c++) {
        if (*c < '0' || *c > '7')
            return evm_errf(err, EINVAL, "%s: mode '%s': expected octal digits", where, s);
        v = v * 8 + (unsigned)(*c - '0');
    }
    *mode = v;
    return 0;
}

/* Relative sources are taken from the list file's directory. */
static int source_path(const struct parser *ps, const char *src, char **out, struct evm_err *err)
{
    if (!hostpath_is_absolute(src))
        return hostpath_join(ps->list_dir, src, out, err);
    *out = strdup(src);
    return *out ? 0 : evm_errf(err, ENOMEM, "out of memory");
}

static const struct syntax *find_syntax(const char *name)
{
    for (size_t i = 0; i < sizeof(syntaxes) / sizeof(syntaxes[0]); i++)
        if (strcmp(syntaxes[i].name, name) == 0)
            return &syntaxes[i];
    return NULL;
}

/* A module's options after its name: at most one of later/demand, optional, each once. */
static int module_options(struct baselist_directive *d, char **opt, int nopt, const char *where,
                          struct evm_err *err)
{
    bool when_given = false;
    for (int i = 0; i < nopt; i++) {
        if (strcmp(opt[i], "optional") == 0 && !d->optional) {
            d->optional = true;
        } else if ((strcmp(opt[i], "later") == 0 || strcmp(opt[i], "demand") == 0) && !when_given) {
            d->when = opt[i][0] == 'l' ? BASELIST_LATER : BASELIST_DEMAND;
            when_given = true;
        } else {
            return evm_errf(err, EINVAL,
                            "%s: module option '%s': expected at most one of 'later' or "
                            "'demand', then 'optional'",
                            where, opt[i]);
        }
    }
    return 0;
}

/* Checks one directive's fields and hands it to the caller. */
static int directive(const struct parser *ps, char **field, int nfields, const char *where,
                     struct evm_err *err)
{
    const struct syntax *sx = find_syntax(field[0]);
    if (!sx)
        return evm_errf(err, EINVAL,
                        "%s: unknown directive '%s' (dir, init, link, module, bin, file, rootfs)",
                        where, field[0]);
    if (nfields < sx->nfields || nfields > (sx->max_fields ? sx->max_fields : sx->nfields))
        return evm_errf(err, EINVAL, "%s: expected '%s'", where, sx->usage);
    struct baselist_directive d = {.kind = sx->kind, .when = BASELIST_EAGER};
    int r = sx->no_dest ? 0 : baselist_dest(field[1], &d.dest, where, err);
    if (r == 0 && sx->mode_at)
        r = parse_mode(field[sx->mode_at], &d.mode, where, err);
    if (r < 0)
        return r;
    if (sx->kind == BASELIST_MODULE && strchr(field[1], '/'))
        return evm_errf(err, EINVAL, "%s: '%s': a module name, not a path", where, field[1]);
    if (sx->kind == BASELIST_MODULE &&
        (r = module_options(&d, field + 2, nfields - 2, where, err)) < 0)
        return r;
    d.arg = sx->arg_at ? field[sx->arg_at] : NULL;
    if (sx->kind != BASELIST_FILE && sx->kind != BASELIST_BIN)
        return ps->fn(ps->ctx, &d, where, err);
    char *src;
    r = source_path(ps, d.arg, &src, err);
    if (r < 0)
        return r;
    d.arg = src;
    r = ps->fn(ps->ctx, &d, where, err);
    free(src);
    return r;
}

/* One line: blank or a comment, else a directive of at most MAX_FIELDS fields. */
static int parse_line(const struct parser *ps, char *line, const char *where, struct evm_err *err)
{
    char *body = str_trim(line);
    if (*body == '#')
        return 0;
    char *field[MAX_FIELDS + 1];
    int n = 0;
    char *save = NULL;
    for (char *t = strtok_r(body, " \t\r", &save); t && n <= MAX_FIELDS;
         t = strtok_r(NULL, " \t\r", &save))
        field[n++] = t;
    if (n > MAX_FIELDS)
        return evm_errf(err, EINVAL, "%s: too many fields", where);
    return n > 0 ? directive(ps, field, n, where, err) : 0;
}

static int parse_text(const struct parser *ps, char *text, struct evm_err *err)
{
    unsigned lineno = 0;
    for (char *line = text; line && *line;) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        lineno++;
        char where[512];
        snprintf(where, sizeof(where), "%s:%u", ps->list, lineno);
        int r = parse_line(ps, line, where, err);
        if (r < 0)
            return r;
        line = nl ? nl + 1 : NULL;
    }
    return 0;
}

/* The list's directory: what precedes its last component, or "." */
static int list_dir(const char *list, char **out, struct evm_err *err)
{
    size_t n = (size_t)(hostpath_base(list) - list);
    char *d = malloc(n + 2);
    if (!d)
        return evm_errf(err, ENOMEM, "out of memory");
    if (n == 0) {
        strcpy(d, ".");
    } else {
        memcpy(d, list, n);
        d[n] = '\0';
    }
    *out = d;
    return 0;
}

int baselist_parse(const char *list, baselist_fn fn, void *ctx, struct evm_err *err)
{
    struct parser ps = {.list = list, .fn = fn, .ctx = ctx};
    int r = list_dir(list, &ps.list_dir, err);
    if (r < 0)
        return r;
    char *text;
    size_t len;
    r = read_regular_file(list, LIST_MAX_BYTES, &text, &len, err);
    if (r < 0) {
        free(ps.list_dir);
        return evm_err_wrap(err, "base initrd list");
    }
    r = parse_text(&ps, text, err);
    free(text);
    free(ps.list_dir);
    return r;
}
