/* tomlparse.c — the TOML statement and value parser (see tomlparse.h). Values nest on an
 * explicit stack of frames (a key/value, an array, an inline table), so nesting depth
 * costs memory, never C stack. Each step follows the daemon's parser (BurntSushi/toml
 * v1.6.0) in what it accepts and in which key rule it applies when. */
#include "config/tomlparse.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/tomllex.h"

enum fkind { FK_KV, FK_ARRAY, FK_TABLE };
enum fstate { FS_VALUE, FS_SEP, FS_KEY };

/* An open key/value, array or inline table. */
struct frame {
    uint8_t kind, state;
    bool empty_key; /* KV/ARRAY: the key's last part is "" */
    bool own;       /* KV: out is a wanted key's value, owned by the frame */
    int want;       /* KV: the wanted key it is, -1 */
    int line;       /* where it opened */
    struct tt_ctx ctx;
    uint32_t path;          /* KV/ARRAY: key path of the value (the daemon's "current key") */
    uint32_t view;          /* KV in an inline table: its table's view; TABLE: its own view root */
    struct toml_value *out; /* being decoded, or NULL */
};

struct tparser {
    struct ttree *tree; /* NULL: syntax only */
    tp_want_fn on_want;
    void *want_ctx;
    struct tl_lex lx;
    struct tl_key key;
    uint32_t *paths;
    size_t cappaths;
    struct frame *fr;
    size_t nfr, capfr;
    size_t ndecoded; /* open decoded arrays and tables */
    struct tt_ctx section;
    int stmt_line;
    uint32_t stmt_key;
    uint32_t key_hint; /* a key read but not yet set: what an error is about */
    const char *eq;
    struct tp_error e;
};

/* ---- errors -------------------------------------------------------------------------- */

/* The lexer's reason becomes the parser's error (r: its return value). */
static int fail_lex(struct tparser *p, int r)
{
    p->e.code = -r;
    p->e.line = p->lx.err.line;
    p->e.eof = p->lx.err.eof;
    p->e.stmt_line = p->stmt_line;
    p->e.key = p->stmt_key;
    for (size_t i = p->nfr; i > 0; i--)
        if (p->fr[i - 1].kind == FK_KV) {
            p->e.key = p->fr[i - 1].path;
            break;
        }
    if (p->key_hint != TT_NONE)
        p->e.key = p->key_hint;
    snprintf(p->e.what, sizeof(p->e.what), "%s", p->lx.err.what);
    return r;
}

static int fail_msg(struct tparser *p, int code, const char *fmt, ...) EVM_PRINTF(3, 4);
static int fail_msg(struct tparser *p, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char what[sizeof(p->lx.err.what)];
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    return fail_lex(p, tl_fail(&p->lx, code, "%s", what));
}

static int fail_nomem(struct tparser *p)
{
    return fail_msg(p, ENOMEM, "out of memory");
}

/* A byte at the cursor that is not what `expected` says: named as itself when TOML never
 * allows it. */
static int fail_unexpected(struct tparser *p, const char *expected)
{
    const struct tl_cur *c = &p->lx.cur;
    if (c->p >= c->end)
        return fail_msg(p, EINVAL, "%s, got the end of the file", expected);
    if (*c->p == '\n' || (*c->p == '\r' && c->p + 1 < c->end && c->p[1] == '\n'))
        return fail_msg(p, EINVAL, "%s, got the end of the line", expected);
    int r = tl_check_byte(&p->lx, c->p);
    if (r < 0)
        return fail_lex(p, r);
    char w[48];
    tl_word(w, sizeof(w), c->p, c->end);
    if (w[0] == '\0')
        tl_excerpt(w, sizeof(w), c->p, 1);
    return fail_msg(p, EINVAL, "%s, got \"%s\"", expected, w);
}

/* A key rule the statement breaks (line: the statement's). */
static int fail_tree(struct tparser *p, int r, const struct tt_fail *f, int line, bool header)
{
    if (r == -ENOMEM || f->kind == TF_NOMEM)
        return fail_nomem(p);
    char path[128];
    tt_path_text(p->tree, f->path, path, sizeof(path));
    int at = f->node != TT_NONE ? tt_node_line(p->tree, f->node) : 0;
    switch (f->kind) {
    case TF_DUPLICATE:
        if (header && tt_node_kind(p->tree, f->node) == TK_TABLE)
            r = fail_msg(p, EINVAL, "table defined twice (first on line %d, again on line %d)", at,
                         line);
        else if (header)
            r = fail_msg(p, EINVAL, "already defined as %s on line %d",
                         tt_node_what(p->tree, f->node), at);
        else
            r = fail_msg(p, EINVAL, "duplicate key (first set on line %d, again on line %d)", at,
                         line);
        p->e.key = f->path;
        break;
    case TF_NOT_TABLE:
        r = fail_msg(p, EINVAL, "%s is %s (line %d), not a table: it cannot hold keys", path,
                     tt_node_what(p->tree, f->node), at);
        break;
    case TF_NOT_AOT:
        r = fail_msg(p, EINVAL, "%s is %s (line %d), not an array of tables", path,
                     tt_node_what(p->tree, f->node), at);
        break;
    default:
        r = fail_msg(p, EINVAL, "%s is not a table in this inline table", path);
        break;
    }
    p->e.line = line;
    return r;
}

const struct tp_error *tp_error(const struct tparser *p)
{
    return &p->e;
}

/* ---- frames -------------------------------------------------------------------------- */

static struct frame *top(struct tparser *p)
{
    return &p->fr[p->nfr - 1];
}

static int push(struct tparser *p, const struct frame *f)
{
    if (p->nfr == p->capfr) {
        size_t nc = p->capfr ? p->capfr * 2 : 16;
        struct frame *nf = realloc(p->fr, nc * sizeof(*nf));
        if (!nf)
            return fail_nomem(p);
        p->fr = nf;
        p->capfr = nc;
    }
    p->fr[p->nfr++] = *f;
    return 0;
}

/* Frees what the open frames own (after an error). */
static void unwind(struct tparser *p)
{
    for (size_t i = 0; i < p->nfr; i++)
        if (p->fr[i].own) {
            toml_value_free(p->fr[i].out);
            free(p->fr[i].out);
        }
    p->nfr = 0;
    p->ndecoded = 0;
}

/* ---- decoding ------------------------------------------------------------------------ */

static int grow_items(struct tparser *p, void **items, size_t len, size_t size)
{
    /* capacity is the next power of two at or above len (0: none yet) */
    if (len & (len - 1) || (len && len < 4))
        return 0;
    size_t nc = len ? len * 2 : 4;
    void *n = realloc(*items, nc * size);
    if (!n)
        return fail_nomem(p);
    *items = n;
    return 0;
}

/* The slot an array element being decoded goes into. */
static int array_slot(struct tparser *p, struct toml_value *a, struct toml_value **slot)
{
    int r = grow_items(p, (void **)&a->u.array.items, a->u.array.len, sizeof(*a->u.array.items));
    if (r < 0)
        return r;
    *slot = &a->u.array.items[a->u.array.len++];
    memset(*slot, 0, sizeof(**slot));
    return 0;
}

/* The key of an inline table's entry, as written: parts joined by '.'; opaque when a part
 * is empty or holds '.' or NUL (it can then never name a wanted key). */
static int entry_key(struct tparser *p, struct toml_kv *kv)
{
    const struct tl_key *k = &p->key;
    size_t total = 0;
    kv->opaque = false;
    for (size_t i = 0; i < k->n; i++) {
        const char *s = k->names.s + k->off[i];
        if (k->len[i] == 0 || memchr(s, '.', k->len[i]) || memchr(s, '\0', k->len[i]))
            kv->opaque = true;
        total += k->len[i] + 1;
    }
    kv->key = malloc(total + 1);
    if (!kv->key)
        return fail_nomem(p);
    kv->key[0] = '\0';
    if (kv->opaque)
        return 0;
    size_t o = 0;
    for (size_t i = 0; i < k->n; i++) {
        if (i)
            kv->key[o++] = '.';
        memcpy(kv->key + o, k->names.s + k->off[i], k->len[i]);
        o += k->len[i];
    }
    kv->key[o] = '\0';
    return 0;
}

static int table_slot(struct tparser *p, struct toml_value *t, struct toml_value **slot)
{
    int r = grow_items(p, (void **)&t->u.table.items, t->u.table.len, sizeof(*t->u.table.items));
    if (r < 0)
        return r;
    struct toml_kv *kv = &t->u.table.items[t->u.table.len++];
    memset(kv, 0, sizeof(*kv));
    *slot = &kv->value;
    return entry_key(p, kv);
}

/* An array or inline table starts in slot (NULL: not decoded). */
static int open_decoded(struct tparser *p, struct toml_value *slot, enum toml_type type)
{
    if (!slot)
        return 0;
    if (++p->ndecoded > TOML_MAX_DEPTH)
        return fail_msg(p, EINVAL, "nested more than %d levels deep", TOML_MAX_DEPTH);
    slot->type = type;
    return 0;
}

/* ---- values -------------------------------------------------------------------------- */

static int value_start(struct tparser *p);
static int key_value(struct tparser *p, bool in_table);

/* The value of the key/value on top is complete: the key rules for setting it. */
static int finish_kv(struct tparser *p, enum toml_type type)
{
    struct frame *kv = top(p);
    struct tt_fail f;
    uint32_t node = TT_NONE;
    if (p->tree) {
        int r = type == TOML_TABLE
                    ? tt_inline_close(p->tree, &kv->ctx, kv->path, kv->line, &f)
                    : tt_value(p->tree, &kv->ctx, kv->path, type, kv->line, &node, &f);
        if (r < 0)
            return fail_tree(p, r, &f, kv->line, false);
        tt_set_type(p->tree, &kv->ctx, kv->path, kv->empty_key, type == TOML_ARRAY);
        uint32_t v;
        if (kv->view != TT_NONE && type != TOML_TABLE &&
            (r = tt_view_set(p->tree, kv->view, kv->path, false, &v, &f)) < 0)
            return fail_tree(p, r, &f, kv->line, false);
    }
    if (kv->own) {
        if (node != TT_NONE && p->on_want)
            p->on_want(p->want_ctx, kv->want, node, kv->out, kv->line);
        else
            toml_value_free(kv->out);
        free(kv->out);
    }
    p->nfr--;
    if (p->nfr > 0 && top(p)->kind == FK_TABLE)
        top(p)->state = FS_SEP;
    return 0;
}

/* A value is complete: its owner (a key/value or an array) takes it. */
static int value_done(struct tparser *p, enum toml_type type)
{
    if (top(p)->kind == FK_ARRAY) {
        top(p)->state = FS_SEP;
        return 0;
    }
    return finish_kv(p, type);
}

/* The array or inline table on top closed. */
static int close_compound(struct tparser *p, enum toml_type type)
{
    p->lx.cur.p++;
    if (top(p)->out)
        p->ndecoded--;
    p->nfr--;
    return value_done(p, type);
}

static int open_array(struct tparser *p, const struct frame *owner, struct toml_value *slot)
{
    if (p->tree) /* valueArray: the key's type is recorded before its elements */
        tt_set_type(p->tree, &owner->ctx, owner->path, owner->empty_key, true);
    int r = open_decoded(p, slot, TOML_ARRAY);
    if (r < 0)
        return r;
    struct frame a = {.kind = FK_ARRAY,
                      .state = FS_VALUE,
                      .empty_key = owner->empty_key,
                      .want = -1,
                      .line = p->lx.cur.line,
                      .ctx = owner->ctx,
                      .path = owner->path,
                      .view = TT_NONE,
                      .out = slot};
    p->lx.cur.p++;
    return push(p, &a);
}

static int open_table(struct tparser *p, const struct frame *owner, struct toml_value *slot)
{
    struct frame t = {.kind = FK_TABLE,
                      .state = FS_KEY,
                      .want = -1,
                      .line = p->lx.cur.line,
                      .view = TT_NONE,
                      .out = slot};
    if (p->tree) {
        struct tt_fail f;
        bool in_array = owner->kind == FK_ARRAY;
        int r = tt_inline_open(p->tree, &owner->ctx, owner->path, in_array, t.line, &t.ctx, &f);
        if (r < 0)
            return fail_tree(p, r, &f, t.line, false);
        if (!in_array && owner->view != TT_NONE)
            r = tt_view_set(p->tree, owner->view, owner->path, true, &t.view, &f);
        else if ((t.view = tt_view_root(p->tree)) == TT_NONE)
            r = -ENOMEM;
        if (r < 0)
            return fail_tree(p, r, &f, t.line, false);
    }
    int r = open_decoded(p, slot, TOML_TABLE);
    if (r < 0)
        return r;
    p->lx.cur.p++;
    return push(p, &t);
}

/* A value starts at the cursor, for the key/value or array on top. */
static int value_start(struct tparser *p)
{
    struct frame *owner = top(p);
    struct toml_value *slot = owner->kind == FK_KV ? owner->out : NULL;
    int r;
    if (owner->kind == FK_ARRAY && owner->out && (r = array_slot(p, owner->out, &slot)) < 0)
        return r;
    tl_skip_ws(&p->lx);
    char c = tl_peek(&p->lx);
    struct frame o = *owner; /* push may move the stack */
    if (!tl_at_end(&p->lx) && c == '[')
        return open_array(p, &o, slot);
    if (!tl_at_end(&p->lx) && c == '{')
        return open_table(p, &o, slot);
    enum toml_type type;
    r = tl_scalar(&p->lx, slot, &type);
    if (r < 0)
        return fail_lex(p, r);
    return value_done(p, type);
}

/* The document ended inside an array or inline table. */
static int fail_never_closed(struct tparser *p)
{
    fail_msg(p, EINVAL, "multi-line value is never closed (it runs to the end of the file)");
    p->e.eof = true;
    p->e.line = p->stmt_line;
    if (p->nfr > 0 && p->fr[0].kind == FK_KV)
        p->e.key = p->fr[0].path;
    return -EINVAL;
}

/* Skips to the next token inside an open array or inline table: *c is its first byte. */
static int compound_next(struct tparser *p, char *c)
{
    int r = tl_skip_wcn(&p->lx);
    if (r < 0)
        return fail_lex(p, r);
    if (tl_at_end(&p->lx))
        return fail_never_closed(p);
    *c = tl_peek(&p->lx);
    return 0;
}

static int step_array(struct tparser *p)
{
    char c;
    int r = compound_next(p, &c);
    if (r < 0)
        return r;
    if (c == ']')
        return close_compound(p, TOML_ARRAY);
    if (top(p)->state == FS_VALUE) {
        if (c == ',')
            return fail_msg(p, EINVAL, "missing value before ',' in an array");
        return value_start(p);
    }
    if (c != ',')
        return fail_unexpected(p, "expected ',' or ']' in an array");
    p->lx.cur.p++;
    top(p)->state = FS_VALUE;
    return 0;
}

static int step_table(struct tparser *p)
{
    char c;
    int r = compound_next(p, &c);
    if (r < 0)
        return r;
    if (c == '}')
        return close_compound(p, TOML_TABLE);
    if (top(p)->state == FS_KEY) {
        if (c == ',')
            return fail_msg(p, EINVAL, "missing key before ',' in an inline table");
        return key_value(p, true);
    }
    if (c != ',')
        return fail_unexpected(p, "expected ',' or '}' in an inline table");
    p->lx.cur.p++;
    top(p)->state = FS_KEY;
    return 0;
}

/* Runs the open values until the frames above `base` are done. */
static int run(struct tparser *p, size_t base)
{
    while (p->nfr > base) {
        int r = top(p)->kind == FK_ARRAY ? step_array(p) : step_table(p);
        if (r < 0)
            return r;
    }
    return 0;
}

/* ---- keys ---------------------------------------------------------------------------- */

static const char *part(const struct tparser *p, size_t i, size_t *len)
{
    *len = p->key.len[i];
    return p->key.names.s + p->key.off[i];
}

/* The key in p->key, in ctx: its dotted parts descend (and walk the inline table's view);
 * *path is the last part's key path. */
static int descend(struct tparser *p, struct tt_ctx *ctx, uint32_t *view, int line, uint32_t *path)
{
    *path = TT_NONE;
    if (!p->tree)
        return 0;
    for (size_t i = 0; i < p->key.n; i++) {
        size_t len;
        const char *name = part(p, i, &len);
        *path = tt_path(p->tree, ctx->path, name, len);
        if (*path == TT_NONE)
            return fail_nomem(p);
        if (i + 1 == p->key.n)
            break;
        struct tt_fail f;
        int r = tt_dotted(p->tree, ctx, *path, line, &f);
        if (r == 0 && *view != TT_NONE)
            r = tt_view_walk(p->tree, view, *path, &f);
        if (r < 0)
            return fail_tree(p, r, &f, line, false);
    }
    return 0;
}

/* The key in p->key, below base, is what the next error is about. */
static void note_key(struct tparser *p, uint32_t base)
{
    if (!p->tree)
        return;
    for (size_t i = 0; i < p->key.n && base != TT_NONE; i++) {
        size_t len;
        const char *name = part(p, i, &len);
        base = tt_path(p->tree, base, name, len);
    }
    p->key_hint = base;
}

/* The key in p->key was read and the cursor is past '=': starts its value. */
static int key_begin(struct tparser *p, bool in_table, int line)
{
    struct frame *t = in_table ? top(p) : NULL;
    struct frame kv = {.kind = FK_KV,
                       .want = -1,
                       .line = line,
                       .ctx = t ? t->ctx : p->section,
                       .view = t ? t->view : TT_NONE};
    size_t len;
    part(p, p->key.n - 1, &len);
    kv.empty_key = len == 0;
    note_key(p, kv.ctx.path);
    int r = descend(p, &kv.ctx, &kv.view, line, &kv.path);
    if (r < 0)
        return r;
    p->key_hint = TT_NONE;
    if (!t)
        p->stmt_key = kv.path;
    if (t && t->out)
        r = table_slot(p, t->out, &kv.out);
    else if (p->tree && (kv.want = tt_want_at(p->tree, &kv.ctx, kv.path)) >= 0) {
        kv.own = true;
        if (!(kv.out = calloc(1, sizeof(*kv.out))))
            return fail_nomem(p);
    }
    if (r < 0 || (r = push(p, &kv)) < 0) {
        if (kv.own)
            free(kv.out);
        return r;
    }
    return value_start(p);
}

/* The key before '=' at the cursor (base: the key path of the table it is in). */
static int read_key(struct tparser *p, uint32_t base)
{
    int r = tl_key(&p->lx, &p->key);
    if (r < 0)
        return fail_lex(p, r);
    if (tl_peek(&p->lx) != '=' || tl_at_end(&p->lx)) {
        note_key(p, base);
        return fail_unexpected(p, "expected '=' after the key");
    }
    if (p->nfr == 0)
        p->eq = p->lx.cur.p; /* a statement's own '=' */
    p->lx.cur.p++;
    tl_skip_ws(&p->lx);
    return 0;
}

/* key = value, inside an inline table or as a statement. */
static int key_value(struct tparser *p, bool in_table)
{
    int line = p->lx.cur.line;
    int r = read_key(p, in_table ? top(p)->ctx.path : p->section.path);
    return r < 0 ? r : key_begin(p, in_table, line);
}

/* ---- statements ---------------------------------------------------------------------- */

static int header(struct tparser *p)
{
    int line = p->lx.cur.line;
    p->lx.cur.p++;
    bool aot = tl_peek(&p->lx) == '[' && !tl_at_end(&p->lx);
    if (aot)
        p->lx.cur.p++;
    int r = tl_key(&p->lx, &p->key);
    if (r < 0)
        return fail_lex(p, r);
    if (tl_peek(&p->lx) != ']' || tl_at_end(&p->lx) ||
        (aot && (p->lx.cur.end - p->lx.cur.p < 2 || p->lx.cur.p[1] != ']'))) {
        note_key(p, TT_ROOT);
        if (aot && tl_peek(&p->lx) == ']')
            p->lx.cur.p++;
        return fail_unexpected(p, aot ? "expected ']]' after the table name"
                                      : "expected ']' after the table name");
    }
    p->lx.cur.p += aot ? 2 : 1;
    if (p->tree) {
        if (p->key.n > p->cappaths) {
            uint32_t *np = realloc(p->paths, p->key.n * sizeof(*np));
            if (!np)
                return fail_nomem(p);
            p->paths = np;
            p->cappaths = p->key.n;
        }
        uint32_t parent = TT_ROOT;
        for (size_t i = 0; i < p->key.n; i++) {
            size_t len;
            const char *name = part(p, i, &len);
            if ((parent = p->paths[i] = tt_path(p->tree, parent, name, len)) == TT_NONE)
                return fail_nomem(p);
        }
        p->stmt_key = parent;
        struct tt_fail f;
        r = tt_header(p->tree, p->paths, p->key.n, aot, line, &p->section, &f);
        if (r < 0)
            return fail_tree(p, r, &f, line, true);
    }
    r = tl_line_end(&p->lx, "the table header");
    return r < 0 ? fail_lex(p, r) : 0;
}

static int keyval_statement(struct tparser *p)
{
    int r = key_value(p, false);
    if (r == 0)
        r = run(p, 0);
    if (r < 0)
        return r;
    r = tl_line_end(&p->lx, "the value");
    return r < 0 ? fail_lex(p, r) : 0;
}

static void start(struct tparser *p, const char *text, size_t len, int line)
{
    tl_init(&p->lx, text, len, line);
    memset(&p->e, 0, sizeof(p->e));
    p->e.key = TT_NONE;
    p->stmt_line = line;
    p->stmt_key = TT_NONE;
    p->key_hint = TT_NONE;
    p->nfr = 0;
    p->ndecoded = 0;
}

int tp_statement(struct tparser *p, const char *text, size_t len, int line, enum tp_kind *kind,
                 const char **end)
{
    start(p, text, len, line);
    tl_skip_ws(&p->lx);
    char c = tl_peek(&p->lx);
    int r;
    if (tl_at_end(&p->lx) || c == '#' || c == '\n' || c == '\r') {
        *kind = TP_BLANK;
        r = tl_line_end(&p->lx, "the comment");
        if (r < 0)
            r = fail_lex(p, r);
    } else if (c == '[') {
        *kind = TP_HEADER;
        r = header(p);
    } else {
        *kind = TP_KEYVAL;
        r = keyval_statement(p);
    }
    if (r < 0)
        unwind(p);
    *end = p->lx.cur.p;
    return r;
}

const char *tp_equals(const struct tparser *p)
{
    return p->eq;
}

int tp_keyval_split(struct tparser *p, const char *key, size_t klen, const char *value, size_t vlen,
                    int line)
{
    start(p, key, klen, line);
    int r = tl_key(&p->lx, &p->key);
    if (r < 0)
        r = fail_lex(p, r);
    else if (!tl_at_end(&p->lx))
        r = fail_unexpected(p, "expected '=' after the key");
    if (r == 0) {
        tl_init(&p->lx, value, vlen, line);
        tl_skip_ws(&p->lx);
        r = key_begin(p, false, line);
    }
    if (r == 0)
        r = run(p, 0);
    if (r == 0 && (r = tl_line_end(&p->lx, "the value")) < 0)
        r = fail_lex(p, r);
    if (r < 0)
        unwind(p);
    return r;
}

int tp_decode(struct tparser *p, const char *text, size_t len, struct toml_value *out)
{
    start(p, text, len, 1);
    p->section = tt_root(p->tree);
    struct frame kv = {.kind = FK_KV,
                       .empty_key = true,
                       .want = -1,
                       .line = 1,
                       .ctx = p->section,
                       .path = tt_path(p->tree, TT_ROOT, "", 0),
                       .view = TT_NONE,
                       .out = out};
    int r = kv.path == TT_NONE ? fail_nomem(p) : push(p, &kv);
    if (r == 0)
        r = value_start(p);
    if (r == 0)
        r = run(p, 0);
    if (r == 0 && (r = tl_skip_wcn(&p->lx)) < 0)
        r = fail_lex(p, r);
    if (r == 0 && !tl_at_end(&p->lx)) {
        char ex[48];
        tl_word(ex, sizeof(ex), p->lx.cur.p, p->lx.cur.end);
        if (ex[0] == '\0')
            tl_excerpt(ex, sizeof(ex), p->lx.cur.p, 1);
        r = tl_check_byte(&p->lx, p->lx.cur.p);
        r = r < 0 ? fail_lex(p, r) : fail_msg(p, EINVAL, "unexpected \"%s\" after the value", ex);
    }
    if (r < 0)
        unwind(p);
    return r;
}

/* ---- life cycle ---------------------------------------------------------------------- */

struct tparser *tp_new(struct ttree *tree, tp_want_fn on_want, void *want_ctx)
{
    struct tparser *p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    p->tree = tree;
    p->on_want = on_want;
    p->want_ctx = want_ctx;
    p->section = tree ? tt_root(tree) : (struct tt_ctx){.map = TT_NONE, .bad = TT_NONE};
    return p;
}

void tp_free(struct tparser *p)
{
    if (!p)
        return;
    unwind(p);
    tl_key_free(&p->key);
    free(p->paths);
    free(p->fr);
    free(p);
}
