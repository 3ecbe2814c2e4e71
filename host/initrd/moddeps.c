/* moddeps.c — kernel-module dependency resolution for the base initrd (see moddeps.h):
 * parsing modules.dep and modules.builtin, looking modules up by normalized name or by
 * modules.dep path, the depth-first visit that orders a module after its dependencies, and
 * the /modules/load-order text. */
#include "initrd/moddeps.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fileutil.h"
#include "initrd/hostpath.h"
#include "log.h"
#include "strutil.h"

#define MODULES_DEP_MAX_BYTES (64u * 1024u * 1024u)
#define MAX_DEP_DEPTH 64

enum visit { UNVISITED, IN_PROGRESS, EMITTED };

struct kmod {
    char *rel;   /* path relative to modules_dir (points into dep_text) */
    char *name;  /* normalized module name, malloc'd */
    char **deps; /* relative paths (into dep_text) */
    size_t ndeps;
    enum visit state;
};

/* The emitter of one moddeps_add call. */
struct visitor {
    struct moddeps *db;
    const char *where;
    moddeps_emit_fn emit;
    void *ctx;
};

int moddeps_name(const char *file, char **name, struct evm_err *err)
{
    const char *b = hostpath_base(file);
    const char *ko = strstr(b, ".ko");
    size_t n = ko ? (size_t)(ko - b) : strlen(b);
    char *s = malloc(n + 1);
    if (!s)
        return evm_errf(err, ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++)
        s[i] = b[i] == '-' ? '_' : b[i];
    s[n] = '\0';
    *name = s;
    return 0;
}

void moddeps_init(struct moddeps *db, const char *modules_dir)
{
    memset(db, 0, sizeof(*db));
    db->modules_dir = modules_dir;
    db->prefix = "";
}

void moddeps_set_prefix(struct moddeps *db, const char *prefix)
{
    db->prefix = prefix ? prefix : "";
}

/* ---- reading modules.dep and modules.builtin ------------------------------------------- */

/* The next line of *text (NUL-terminated in place), or NULL at the end. */
static char *next_line(char **text)
{
    char *line = *text;
    if (!line || !*line)
        return NULL;
    char *nl = strchr(line, '\n');
    if (nl)
        *nl = '\0';
    *text = nl ? nl + 1 : NULL;
    return line;
}

static int new_kmod(struct moddeps *db, size_t *cap, struct kmod **out, struct evm_err *err)
{
    if (db->nmods == *cap) {
        size_t nc = *cap ? *cap * 2 : 1024;
        struct kmod *nv = realloc(db->mods, nc * sizeof(*nv));
        if (!nv)
            return evm_errf(err, ENOMEM, "out of memory");
        db->mods = nv;
        *cap = nc;
    }
    *out = &db->mods[db->nmods];
    memset(*out, 0, sizeof(**out));
    return 0;
}

/* "kernel/a/x.ko: kernel/b/y.ko kernel/c/z.ko" */
static int parse_dep_line(struct moddeps *db, char *line, size_t *cap, const char *where,
                          struct evm_err *err)
{
    char *colon = strchr(line, ':');
    if (!colon)
        return evm_errf(err, EINVAL, "%s: expected 'module.ko: deps...'", where);
    *colon = '\0';
    struct kmod *m = NULL;
    int r = new_kmod(db, cap, &m, err);
    if (r < 0)
        return r;
    m->rel = str_trim(line);
    r = moddeps_name(m->rel, &m->name, err);
    if (r < 0)
        return r;
    db->nmods++;
    char *save = NULL;
    for (char *d = strtok_r(colon + 1, " \t\r", &save); d; d = strtok_r(NULL, " \t\r", &save)) {
        char **nd = realloc(m->deps, (m->ndeps + 1) * sizeof(*nd));
        if (!nd)
            return evm_errf(err, ENOMEM, "out of memory");
        m->deps = nd;
        nd[m->ndeps++] = d;
    }
    return 0;
}

static int parse_modules_dep(struct moddeps *db, const char *path, struct evm_err *err)
{
    size_t len;
    int r = read_regular_file(path, MODULES_DEP_MAX_BYTES, &db->dep_text, &len, err);
    if (r < 0)
        return evm_err_wrap(err, "kernel modules (run depmod first?)");
    size_t cap = 0;
    unsigned lineno = 0;
    char *text = db->dep_text;
    for (char *line; (line = next_line(&text)) != NULL;) {
        lineno++;
        line = str_trim(line);
        if (!*line || *line == '#')
            continue;
        char where[512];
        snprintf(where, sizeof(where), "%s:%u", path, lineno);
        r = parse_dep_line(db, line, &cap, where, err);
        if (r < 0)
            return r;
    }
    return 0;
}

static int parse_modules_builtin(struct moddeps *db, const char *path, struct evm_err *err)
{
    char *text;
    size_t len;
    struct evm_err rerr = {0};
    int r = read_regular_file(path, MODULES_DEP_MAX_BYTES, &text, &len, &rerr);
    if (r == -ENOENT) {
        log_warn("%s: missing; no module is known to be built in", path);
        return 0;
    }
    if (r < 0)
        return evm_errf(err, -r, "%s", rerr.msg);
    char *rest = text;
    for (char *line; r == 0 && (line = next_line(&rest)) != NULL;) {
        line = str_trim(line);
        if (!*line || *line == '#')
            continue;
        char *name;
        r = moddeps_name(line, &name, err);
        if (r == 0)
            r = strvec_push_owned(&db->builtin, name, err);
    }
    free(text);
    return r;
}

int moddeps_load(struct moddeps *db, struct evm_err *err)
{
    if (db->loaded)
        return 0;
    char *dep = NULL, *builtin = NULL;
    int r = hostpath_join(db->modules_dir, "modules.dep", &dep, err);
    if (r == 0)
        r = hostpath_join(db->modules_dir, "modules.builtin", &builtin, err);
    if (r == 0)
        r = parse_modules_dep(db, dep, err);
    if (r == 0)
        r = parse_modules_builtin(db, builtin, err);
    free(dep);
    free(builtin);
    if (r == 0)
        db->loaded = true;
    return r;
}

/* ---- ordering ----------------------------------------------------------------------------- */

static struct kmod *mod_by_name(const struct moddeps *db, const char *name)
{
    for (size_t i = 0; i < db->nmods; i++)
        if (strcmp(db->mods[i].name, name) == 0)
            return &db->mods[i];
    return NULL;
}

static struct kmod *mod_by_rel(struct moddeps *db, const char *rel)
{
    for (size_t i = 0; i < db->nmods; i++)
        if (strcmp(db->mods[i].rel, rel) == 0)
            return &db->mods[i];
    return NULL;
}

static int load_order_add(struct moddeps *db, const char *line, struct evm_err *err)
{
    size_t n = strlen(line);
    if (db->lo_len + n + 2 > db->lo_cap) {
        size_t nc = (db->lo_cap + n + 2) * 2;
        char *nb = realloc(db->load_order, nc);
        if (!nb)
            return evm_errf(err, ENOMEM, "out of memory");
        db->load_order = nb;
        db->lo_cap = nc;
    }
    memcpy(db->load_order + db->lo_len, line, n);
    db->load_order[db->lo_len + n] = '\n';
    db->lo_len += n + 1;
    db->load_order[db->lo_len] = '\0';
    return 0;
}

/* "<prefix><path>: <prefix><dep path>..." — the init loads modules whose dependencies are
 * all in, in parallel (modules.dep lists every dependency, transitively). */
static int load_order_line(struct moddeps *db, const struct kmod *m, struct evm_err *err)
{
    size_t plen = strlen(db->prefix);
    size_t cap = plen + strlen(m->rel) + 2;
    for (size_t i = 0; i < m->ndeps; i++)
        cap += plen + strlen(m->deps[i]) + 1;
    char *line = malloc(cap + 1);
    if (!line)
        return evm_errf(err, ENOMEM, "out of memory");
    size_t o = (size_t)snprintf(line, cap + 1, "%s%s:", db->prefix, m->rel);
    for (size_t i = 0; i < m->ndeps; i++)
        o += (size_t)snprintf(line + o, cap + 1 - o, " %s%s", db->prefix, m->deps[i]);
    int r = load_order_add(db, line, err);
    free(line);
    return r;
}

/* Hands one module to the emitter and records its load-order line. */
static int emit_one(struct visitor *v, struct kmod *m, struct evm_err *err)
{
    char *src;
    int r = hostpath_join(v->db->modules_dir, m->rel, &src, err);
    if (r < 0)
        return r;
    r = v->emit(v->ctx, m->name, m->rel, src, v->where, err);
    free(src);
    if (r < 0)
        return r;
    r = load_order_line(v->db, m, err);
    if (r < 0)
        return r;
    m->state = EMITTED;
    return 0;
}

/* Depth-first: a module's dependencies (modules.dep lists them all, transitively; they are
 * visited last-first as modprobe loads them) are emitted before it, each once. */
static int visit(struct visitor *v, struct kmod *m, int depth, struct evm_err *err)
{
    if (m->state == EMITTED)
        return 0;
    if (m->state == IN_PROGRESS || depth > MAX_DEP_DEPTH)
        return evm_errf(err, ELOOP, "%s: module %s: dependency cycle in modules.dep", v->where,
                        m->name);
    m->state = IN_PROGRESS;
    for (size_t i = m->ndeps; i-- > 0;) {
        struct kmod *d = mod_by_rel(v->db, m->deps[i]);
        if (!d)
            return evm_errf(err, ENOENT,
                            "%s: module %s depends on %s, which has no line in modules.dep",
                            v->where, m->name, m->deps[i]);
        int r = visit(v, d, depth + 1, err);
        if (r < 0)
            return r;
    }
    return emit_one(v, m, err);
}

int moddeps_add(struct moddeps *db, const char *name, const char *where, moddeps_emit_fn emit,
                void *ctx, bool *builtin, struct evm_err *err)
{
    *builtin = false;
    char *norm;
    int r = moddeps_name(name, &norm, err);
    if (r < 0)
        return r;
    struct kmod *m = mod_by_name(db, norm);
    if (m) {
        struct visitor v = {.db = db, .where = where, .emit = emit, .ctx = ctx};
        r = visit(&v, m, 0, err);
    } else if (strvec_has(&db->builtin, norm)) {
        log_info("module %s is built into the kernel: skipped", name);
        *builtin = true;
    } else {
        r = evm_errf(err, ENOENT, "%s: module %s: neither in %s/modules.dep nor in modules.builtin",
                     where, name, db->modules_dir);
    }
    free(norm);
    return r;
}

enum moddeps_kind moddeps_lookup(const struct moddeps *db, const char *name)
{
    char *norm;
    struct evm_err err = {0};
    if (moddeps_name(name, &norm, &err) < 0)
        return MODDEPS_UNKNOWN;
    enum moddeps_kind k = mod_by_name(db, norm)            ? MODDEPS_MODULE
                          : strvec_has(&db->builtin, norm) ? MODDEPS_BUILTIN
                                                           : MODDEPS_UNKNOWN;
    free(norm);
    return k;
}

const char *moddeps_load_order(const struct moddeps *db, size_t *len)
{
    *len = db->lo_len;
    return db->load_order ? db->load_order : "";
}

char *moddeps_take_load_order(struct moddeps *db, size_t *len)
{
    char *t = db->load_order;
    *len = db->lo_len;
    db->load_order = NULL;
    db->lo_len = db->lo_cap = 0;
    return t;
}

void moddeps_free(struct moddeps *db)
{
    for (size_t i = 0; i < db->nmods; i++) {
        free(db->mods[i].name);
        free(db->mods[i].deps);
    }
    free(db->mods);
    free(db->dep_text);
    strvec_free(&db->builtin);
    free(db->load_order);
    memset(db, 0, sizeof(*db));
}
