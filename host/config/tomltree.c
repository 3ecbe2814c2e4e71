/* tomltree.c — the key rules of a TOML document as the daemon's parser applies them (see
 * tomltree.h): a port of BurntSushi/toml v1.6.0 parse.go's addContext / setValue /
 * setType / implicit marks and valueInlineTable's own table, over two hash-indexed trees
 * (key paths, mapping). Names are hashed with SipHash-1-3 under a per-read random key, so a
 * crafted document cannot make the lookups slow. */
#include "config/tomltree.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "random.h"
#include "strutil.h"

enum { PF_IMPLICIT = 1, PF_ARRAY = 2 };

/* A key path: what the daemon keys its types and implicit marks by. */
struct pnode {
    uint32_t parent;
    uint32_t name_len;
    size_t name_off;
    uint8_t flags;
};

/* A node of the mapping (or of an inline table's own view). */
struct mnode {
    uint32_t parent; /* TT_NONE: the root, an element of an array of tables, a view root */
    uint32_t path;
    uint32_t last; /* TK_AOT: its last element */
    int32_t line;
    uint8_t kind;
    uint8_t type; /* TK_VALUE: enum toml_type */
    int16_t want; /* wanted-prefix index, -1 none */
};

/* A prefix of a wanted path (the root is prefix 0). */
struct wprefix {
    int16_t parent;
    const char *name;
    size_t len;
    int want; /* index of the wanted path it is, -1 when only a prefix */
};

struct index {
    uint32_t *slot;
    uint32_t cap; /* a power of two */
    uint32_t n;
};

struct ttree {
    struct pnode *pn;
    uint32_t npn, cappn;
    char *names;
    size_t nnames, capnames;
    struct mnode *mn;
    uint32_t nmn, capmn;
    struct index pidx, midx;
    uint64_t k0, k1;
    struct wprefix *wp;
    size_t nwp;
};

/* ---- hashing ------------------------------------------------------------------------- */

static uint64_t rotl(uint64_t x, int b)
{
    return (x << b) | (x >> (64 - b));
}

static void sipround(uint64_t v[4])
{
    v[0] += v[1];
    v[1] = rotl(v[1], 13);
    v[1] ^= v[0];
    v[0] = rotl(v[0], 32);
    v[2] += v[3];
    v[3] = rotl(v[3], 16);
    v[3] ^= v[2];
    v[0] += v[3];
    v[3] = rotl(v[3], 21);
    v[3] ^= v[0];
    v[2] += v[1];
    v[1] = rotl(v[1], 17);
    v[1] ^= v[2];
    v[2] = rotl(v[2], 32);
}

static uint64_t siphash13(const unsigned char *in, size_t len, uint64_t k0, uint64_t k1)
{
    uint64_t v[4] = {0x736f6d6570736575ULL ^ k0, 0x646f72616e646f6dULL ^ k1,
                     0x6c7967656e657261ULL ^ k0, 0x7465646279746573ULL ^ k1};
    size_t whole = len - len % 8;
    for (size_t i = 0; i < whole; i += 8) {
        uint64_t m = 0;
        for (size_t j = 0; j < 8; j++)
            m |= (uint64_t)in[i + j] << (8 * j);
        v[3] ^= m;
        sipround(v);
        v[0] ^= m;
    }
    uint64_t b = (uint64_t)len << 56;
    for (size_t j = 0; j < len % 8; j++)
        b |= (uint64_t)in[whole + j] << (8 * j);
    v[3] ^= b;
    sipround(v);
    v[0] ^= b;
    v[2] ^= 0xff;
    sipround(v);
    sipround(v);
    sipround(v);
    return v[0] ^ v[1] ^ v[2] ^ v[3];
}

static uint64_t hash_name(const struct ttree *t, uint32_t parent, const char *name, size_t len)
{
    return siphash13((const unsigned char *)name, len,
                     t->k0 ^ ((uint64_t)parent * 0x9e3779b97f4a7c15ULL), t->k1);
}

static uint64_t hash_pair(const struct ttree *t, uint32_t parent, uint32_t path)
{
    uint64_t x = (((uint64_t)parent << 32) | path) ^ t->k0;
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x ^ t->k1;
}

/* ---- the two indexes ----------------------------------------------------------------- */

static uint64_t pnode_hash(const struct ttree *t, uint32_t id)
{
    const struct pnode *p = &t->pn[id];
    return hash_name(t, p->parent, t->names + p->name_off, p->name_len);
}

static uint64_t mnode_hash(const struct ttree *t, uint32_t id)
{
    return hash_pair(t, t->mn[id].parent, t->mn[id].path);
}

/* Doubles an index, re-placing every entry (h: an entry's hash). */
static int index_grow(struct ttree *t, struct index *ix,
                      uint64_t (*h)(const struct ttree *, uint32_t))
{
    uint32_t nc = ix->cap ? ix->cap * 2 : 64;
    uint32_t *ns = malloc((size_t)nc * sizeof(*ns));
    if (!ns)
        return -ENOMEM;
    memset(ns, 0xff, (size_t)nc * sizeof(*ns));
    for (uint32_t i = 0; i < ix->cap; i++) {
        uint32_t id = ix->slot[i];
        if (id == TT_NONE)
            continue;
        uint32_t s = (uint32_t)h(t, id) & (nc - 1);
        while (ns[s] != TT_NONE)
            s = (s + 1) & (nc - 1);
        ns[s] = id;
    }
    free(ix->slot);
    ix->slot = ns;
    ix->cap = nc;
    return 0;
}

/* Makes room for one more entry. */
static int index_reserve(struct ttree *t, struct index *ix,
                         uint64_t (*h)(const struct ttree *, uint32_t))
{
    if ((uint64_t)(ix->n + 1) * 2 <= ix->cap)
        return 0;
    return index_grow(t, ix, h);
}

/* The slot of key path parent + name, or of the empty slot where it goes. */
static uint32_t pidx_slot(const struct ttree *t, uint32_t parent, const char *name, size_t len)
{
    uint32_t mask = t->pidx.cap - 1;
    uint32_t s = (uint32_t)hash_name(t, parent, name, len) & mask;
    for (;; s = (s + 1) & mask) {
        uint32_t id = t->pidx.slot[s];
        if (id == TT_NONE)
            return s;
        const struct pnode *p = &t->pn[id];
        if (p->parent == parent && p->name_len == len &&
            (len == 0 || memcmp(t->names + p->name_off, name, len) == 0))
            return s;
    }
}

static uint32_t midx_slot(const struct ttree *t, uint32_t parent, uint32_t path)
{
    uint32_t mask = t->midx.cap - 1;
    uint32_t s = (uint32_t)hash_pair(t, parent, path) & mask;
    for (;; s = (s + 1) & mask) {
        uint32_t id = t->midx.slot[s];
        if (id == TT_NONE || (t->mn[id].parent == parent && t->mn[id].path == path))
            return s;
    }
}

static uint32_t mfind(const struct ttree *t, uint32_t parent, uint32_t path)
{
    return t->midx.slot[midx_slot(t, parent, path)];
}

/* ---- key paths ----------------------------------------------------------------------- */

static int grow_array(void **items, uint32_t *cap, uint32_t n, size_t size)
{
    if (n < *cap)
        return 0;
    if (*cap >= UINT32_MAX / 4)
        return -ENOMEM;
    uint32_t nc = *cap ? *cap * 2 : 64;
    void *ni = realloc(*items, (size_t)nc * size);
    if (!ni)
        return -ENOMEM;
    *items = ni;
    *cap = nc;
    return 0;
}

static int add_name(struct ttree *t, const char *name, size_t len, size_t *off)
{
    *off = t->nnames;
    if (len == 0)
        return 0;
    if (t->nnames + len > t->capnames) {
        size_t nc = t->capnames ? t->capnames : 1024;
        while (nc < t->nnames + len)
            nc *= 2;
        char *nn = realloc(t->names, nc);
        if (!nn)
            return -ENOMEM;
        t->names = nn;
        t->capnames = nc;
    }
    memcpy(t->names + t->nnames, name, len);
    t->nnames += len;
    return 0;
}

uint32_t tt_path(struct ttree *t, uint32_t parent, const char *name, size_t len)
{
    if (len > UINT32_MAX || index_reserve(t, &t->pidx, pnode_hash) < 0)
        return TT_NONE;
    uint32_t s = pidx_slot(t, parent, name, len);
    if (t->pidx.slot[s] != TT_NONE)
        return t->pidx.slot[s];
    size_t off;
    if (grow_array((void **)&t->pn, &t->cappn, t->npn, sizeof(*t->pn)) < 0 ||
        add_name(t, name, len, &off) < 0)
        return TT_NONE;
    uint32_t id = t->npn++;
    t->pn[id] = (struct pnode){.parent = parent, .name_len = (uint32_t)len, .name_off = off};
    t->pidx.slot[s] = id;
    t->pidx.n++;
    return id;
}

static uint32_t path_find(const struct ttree *t, uint32_t parent, const char *name, size_t len)
{
    return t->pidx.slot[pidx_slot(t, parent, name, len)];
}

/* ---- wanted prefixes ----------------------------------------------------------------- */

static int16_t wp_child(const struct ttree *t, int16_t parent, const char *name, size_t len)
{
    for (size_t i = 1; i < t->nwp; i++)
        if (t->wp[i].parent == parent && t->wp[i].len == len &&
            memcmp(t->wp[i].name, name, len) == 0)
            return (int16_t)i;
    return -1;
}

static void add_want(struct ttree *t, const char *path, int want)
{
    int16_t cur = 0;
    while (*path) {
        const char *dot = strchr(path, '.');
        size_t len = dot ? (size_t)(dot - path) : strlen(path);
        int16_t next = wp_child(t, cur, path, len);
        if (next < 0) {
            if (t->nwp >= INT16_MAX)
                return;
            next = (int16_t)t->nwp++;
            t->wp[next] = (struct wprefix){.parent = cur, .name = path, .len = len, .want = -1};
        }
        cur = next;
        path += len + (dot ? 1 : 0);
        if (!dot)
            break;
    }
    if (cur != 0)
        t->wp[cur].want = want;
}

static int init_wants(struct ttree *t, const char *const *paths, size_t n)
{
    size_t parts = 1;
    for (size_t i = 0; i < n; i++) {
        parts++;
        for (const char *p = paths[i]; *p; p++)
            parts += *p == '.';
    }
    t->wp = calloc(parts, sizeof(*t->wp));
    if (!t->wp)
        return -ENOMEM;
    t->wp[0] = (struct wprefix){.parent = -1, .want = -1};
    t->nwp = 1;
    for (size_t i = 0; i < n; i++)
        add_want(t, paths[i], (int)i);
    return 0;
}

/* ---- mapping nodes ------------------------------------------------------------------- */

static int16_t child_want(const struct ttree *t, uint32_t parent, uint32_t path)
{
    if (parent == TT_NONE || t->mn[parent].kind != TK_TABLE || t->mn[parent].want < 0)
        return -1;
    const struct pnode *p = &t->pn[path];
    return wp_child(t, t->mn[parent].want, t->names + p->name_off, p->name_len);
}

/* A new node (not indexed). */
static uint32_t mnew(struct ttree *t, enum tt_kind kind, uint32_t parent, uint32_t path, int line)
{
    if (grow_array((void **)&t->mn, &t->capmn, t->nmn, sizeof(*t->mn)) < 0)
        return TT_NONE;
    uint32_t id = t->nmn++;
    t->mn[id] = (struct mnode){.parent = parent,
                               .path = path,
                               .last = TT_NONE,
                               .line = line,
                               .kind = (uint8_t)kind,
                               .want = -1};
    return id;
}

/* A new child of parent at path, replacing what the index had there. */
static uint32_t mset(struct ttree *t, enum tt_kind kind, uint32_t parent, uint32_t path, int line)
{
    if (index_reserve(t, &t->midx, mnode_hash) < 0)
        return TT_NONE;
    uint32_t id = mnew(t, kind, parent, path, line);
    if (id == TT_NONE)
        return TT_NONE;
    t->mn[id].want = child_want(t, parent, path);
    uint32_t s = midx_slot(t, parent, path);
    if (t->midx.slot[s] == TT_NONE)
        t->midx.n++;
    t->midx.slot[s] = id;
    return id;
}

/* A new element of array of tables aot. */
static uint32_t append_element(struct ttree *t, uint32_t aot, int line)
{
    uint32_t e = mnew(t, TK_TABLE, TT_NONE, t->mn[aot].path, line);
    if (e != TT_NONE)
        t->mn[aot].last = e;
    return e;
}

/* The table keys under node (at path) go into. */
static struct tt_ctx ctx_of(const struct ttree *t, uint32_t path, uint32_t node)
{
    struct tt_ctx c = {.path = path, .map = TT_NONE, .bad = TT_NONE};
    if (t->mn[node].kind == TK_TABLE)
        c.map = node;
    else if (t->mn[node].kind == TK_AOT)
        c.map = t->mn[node].last;
    else
        c.bad = node;
    return c;
}

static int fail(struct tt_fail *f, enum tt_fail_kind kind, uint32_t path, uint32_t node)
{
    f->kind = kind;
    f->path = path;
    f->node = node;
    return kind == TF_NOMEM ? -ENOMEM : -EINVAL;
}

static int fail_nomem(struct tt_fail *f)
{
    return fail(f, TF_NOMEM, TT_NONE, TT_NONE);
}

enum set_result { SR_NEW, SR_KEPT, SR_REPLACED };

/* setValue: a value of kind at path in ctx (parse.go's rules for keys already there: an
 * implicit one is kept — or replaced when its path last held an array). */
static int set_value(struct ttree *t, const struct tt_ctx *ctx, uint32_t path, enum tt_kind kind,
                     int line, uint32_t *node, enum set_result *res, struct tt_fail *f)
{
    if (ctx->map == TT_NONE)
        return fail(f, TF_NOT_TABLE, ctx->path, ctx->bad);
    uint32_t ex = mfind(t, ctx->map, path);
    if (ex == TT_NONE) {
        *res = SR_NEW;
        *node = mset(t, kind, ctx->map, path, line);
        return *node == TT_NONE ? fail_nomem(f) : 0;
    }
    uint8_t *flags = &t->pn[path].flags;
    if (!(*flags & PF_IMPLICIT))
        return fail(f, TF_DUPLICATE, path, ex);
    *flags &= (uint8_t)~PF_IMPLICIT;
    if (!(*flags & PF_ARRAY)) {
        *res = SR_KEPT;
        *node = ex;
        return 0;
    }
    *res = SR_REPLACED;
    *node = mset(t, kind, ctx->map, path, line);
    return *node == TT_NONE ? fail_nomem(f) : 0;
}

/* setValue for a table at path in ctx; *out is the context inside it. out may be ctx. */
static int set_table(struct ttree *t, const struct tt_ctx *ctx, uint32_t path, int line,
                     struct tt_ctx *out, struct tt_fail *f)
{
    uint32_t node;
    enum set_result res;
    int r = set_value(t, ctx, path, TK_TABLE, line, &node, &res, f);
    if (r == 0)
        *out = ctx_of(t, path, node);
    return r;
}

/* ---- the operations ------------------------------------------------------------------ */

struct tt_ctx tt_root(const struct ttree *t)
{
    (void)t;
    return (struct tt_ctx){.path = TT_ROOT, .map = 0, .bad = TT_NONE};
}

/* addContext's walk through a header's parents: a missing table is created (implicit). */
static int header_parent(struct ttree *t, struct tt_ctx *ctx, uint32_t path, int line,
                         struct tt_fail *f)
{
    uint32_t child = mfind(t, ctx->map, path);
    if (child == TT_NONE) {
        t->pn[path].flags |= PF_IMPLICIT;
        child = mset(t, TK_TABLE, ctx->map, path, line);
        if (child == TT_NONE)
            return fail_nomem(f);
    }
    struct tt_ctx c = ctx_of(t, path, child);
    if (c.map == TT_NONE)
        return fail(f, TF_NOT_TABLE, path, child);
    *ctx = c;
    return 0;
}

/* The array of tables at path in ctx gets a new element. */
static int add_element(struct ttree *t, const struct tt_ctx *ctx, uint32_t path, int line,
                       struct tt_ctx *out, struct tt_fail *f)
{
    if (ctx->map == TT_NONE)
        return fail(f, TF_NOT_TABLE, ctx->path, ctx->bad);
    uint32_t aot = mfind(t, ctx->map, path);
    if (aot == TT_NONE) {
        aot = mset(t, TK_AOT, ctx->map, path, line);
        if (aot == TT_NONE)
            return fail_nomem(f);
    }
    if (t->mn[aot].kind != TK_AOT)
        return fail(f, TF_NOT_AOT, path, aot);
    uint32_t e = append_element(t, aot, line);
    if (e == TT_NONE)
        return fail_nomem(f);
    *out = (struct tt_ctx){.path = path, .map = e, .bad = TT_NONE};
    return 0;
}

int tt_header(struct ttree *t, const uint32_t *paths, size_t n, bool aot, int line,
              struct tt_ctx *out, struct tt_fail *f)
{
    struct tt_ctx ctx = tt_root(t);
    for (size_t i = 0; i + 1 < n; i++) {
        int r = header_parent(t, &ctx, paths[i], line, f);
        if (r < 0)
            return r;
    }
    uint32_t last = paths[n - 1];
    int r;
    if (aot)
        r = add_element(t, &ctx, last, line, out, f);
    else
        r = set_table(t, &ctx, last, line, out, f);
    if (r == 0)
        t->pn[last].flags &= (uint8_t)~PF_ARRAY; /* setType: a table or array of tables */
    return r;
}

int tt_dotted(struct ttree *t, struct tt_ctx *ctx, uint32_t path, int line, struct tt_fail *f)
{
    t->pn[path].flags |= PF_IMPLICIT;
    return set_table(t, ctx, path, line, ctx, f);
}

int tt_inline_open(struct ttree *t, const struct tt_ctx *ctx, uint32_t path, bool in_array,
                   int line, struct tt_ctx *out, struct tt_fail *f)
{
    t->pn[path].flags |= PF_IMPLICIT;
    if (in_array)
        return add_element(t, ctx, path, line, out, f);
    return set_table(t, ctx, path, line, out, f);
}

int tt_inline_close(struct ttree *t, const struct tt_ctx *ctx, uint32_t path, int line,
                    struct tt_fail *f)
{
    /* The daemon stores the inline table's own map here only when its path last held an
     * array (SR_REPLACED): both are tables with the same keys, except in documents that
     * also break its rules inside the inline table; the table built so far is kept. */
    if (ctx->map == TT_NONE)
        return fail(f, TF_NOT_TABLE, ctx->path, ctx->bad);
    uint32_t ex = mfind(t, ctx->map, path);
    if (ex == TT_NONE) {
        uint32_t node;
        enum set_result res;
        return set_value(t, ctx, path, TK_TABLE, line, &node, &res, f);
    }
    uint8_t *flags = &t->pn[path].flags;
    if (!(*flags & PF_IMPLICIT))
        return fail(f, TF_DUPLICATE, path, ex);
    *flags &= (uint8_t)~PF_IMPLICIT;
    return 0;
}

int tt_value(struct ttree *t, const struct tt_ctx *ctx, uint32_t path, enum toml_type type,
             int line, uint32_t *node, struct tt_fail *f)
{
    enum set_result res;
    int r = set_value(t, ctx, path, TK_VALUE, line, node, &res, f);
    if (r < 0)
        return r;
    if (res == SR_KEPT)
        *node = TT_NONE;
    else
        t->mn[*node].type = (uint8_t)type;
    return 0;
}

void tt_set_type(struct ttree *t, const struct tt_ctx *ctx, uint32_t path, bool empty_name,
                 bool is_array)
{
    /* parse.go's setType: an empty last part names the context itself */
    uint32_t target = (empty_name && ctx->path != TT_ROOT) ? ctx->path : path;
    if (is_array)
        t->pn[target].flags |= PF_ARRAY;
    else
        t->pn[target].flags &= (uint8_t)~PF_ARRAY;
}

int tt_want_at(const struct ttree *t, const struct tt_ctx *ctx, uint32_t path)
{
    if (ctx->map == TT_NONE)
        return -1;
    int16_t w = child_want(t, ctx->map, path);
    return w < 0 ? -1 : t->wp[w].want;
}

/* ---- an inline table's own view ------------------------------------------------------ */

uint32_t tt_view_root(struct ttree *t)
{
    return mnew(t, TK_TMAP, TT_NONE, TT_ROOT, 0);
}

int tt_view_walk(struct ttree *t, uint32_t *target, uint32_t path, struct tt_fail *f)
{
    uint32_t child = mfind(t, *target, path);
    if (child == TT_NONE) {
        child = mset(t, TK_TMAP, *target, path, 0);
        if (child == TT_NONE)
            return fail_nomem(f);
    } else if (t->mn[child].kind != TK_TMAP) {
        return fail(f, TF_INLINE_KEY, path, TT_NONE);
    }
    *target = child;
    return 0;
}

int tt_view_set(struct ttree *t, uint32_t target, uint32_t path, bool table, uint32_t *node,
                struct tt_fail *f)
{
    *node = mset(t, table ? TK_TMAP : TK_TOTHER, target, path, 0);
    return *node == TT_NONE ? fail_nomem(f) : 0;
}

/* ---- reading ------------------------------------------------------------------------- */

uint32_t tt_child(const struct ttree *t, uint32_t map, const char *name, size_t len)
{
    uint32_t path = path_find(t, t->mn[map].path, name, len);
    return path == TT_NONE ? TT_NONE : mfind(t, map, path);
}

enum tt_kind tt_node_kind(const struct ttree *t, uint32_t node)
{
    return (enum tt_kind)t->mn[node].kind;
}

int tt_node_line(const struct ttree *t, uint32_t node)
{
    return t->mn[node].line;
}

enum toml_type tt_node_type(const struct ttree *t, uint32_t node)
{
    return (enum toml_type)t->mn[node].type;
}

const char *tt_node_what(const struct ttree *t, uint32_t node)
{
    switch (tt_node_kind(t, node)) {
    case TK_TABLE:
        return "a table";
    case TK_AOT:
        return "an array of tables";
    default:
        return toml_type_name(tt_node_type(t, node));
    }
}

/* One part for messages: bare when it can be, else quoted. */
static size_t part_text(char *out, size_t size, const char *name, size_t len)
{
    bool bare = len > 0;
    for (size_t i = 0; i < len && bare; i++)
        bare = (name[i] >= 'A' && name[i] <= 'Z') || (name[i] >= 'a' && name[i] <= 'z') ||
               (name[i] >= '0' && name[i] <= '9') || name[i] == '_' || name[i] == '-';
    char ex[48];
    str_excerpt(ex, sizeof(ex), name, len, 36);
    int n = snprintf(out, size, bare ? "%s" : "\"%s\"", ex);
    return n < 0 ? 0 : (size_t)n;
}

void tt_path_text(const struct ttree *t, uint32_t path, char *out, size_t size)
{
    /* written right to left into tmp, then moved to the front */
    char tmp[160], part[64];
    size_t pos = sizeof(tmp) - 1;
    tmp[pos] = '\0';
    bool cut = false;
    for (uint32_t p = path; p != TT_ROOT && p != TT_NONE; p = t->pn[p].parent) {
        const struct pnode *n = &t->pn[p];
        size_t len = part_text(part, sizeof(part), t->names + n->name_off, n->name_len);
        size_t need = len + (pos < sizeof(tmp) - 1 ? 1 : 0);
        if (need > pos) {
            cut = true;
            break;
        }
        if (pos < sizeof(tmp) - 1)
            tmp[--pos] = '.';
        pos -= len;
        memcpy(tmp + pos, part, len);
    }
    snprintf(out, size, "%s%s", cut ? "..." : "", tmp + pos);
}

/* ---- life cycle ---------------------------------------------------------------------- */

struct ttree *tt_new(const char *const *want_paths, size_t n)
{
    struct ttree *t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    uint64_t key[2] = {0x0706050403020100ULL, 0x0f0e0d0c0b0a0908ULL};
    struct evm_err e = {0};
    (void)random_bytes(key, sizeof(key), &e); /* on failure lookups stay right, only predictable */
    t->k0 = key[0];
    t->k1 = key[1];
    t->capnames = 1024;
    t->names = malloc(t->capnames);
    if (!t->names || init_wants(t, want_paths, n) < 0 || index_grow(t, &t->pidx, pnode_hash) < 0 ||
        index_grow(t, &t->midx, mnode_hash) < 0 ||
        grow_array((void **)&t->pn, &t->cappn, 0, sizeof(*t->pn)) < 0) {
        tt_free(t);
        return NULL;
    }
    t->pn[0] = (struct pnode){.parent = TT_NONE};
    t->npn = 1;
    uint32_t root = mnew(t, TK_TABLE, TT_NONE, TT_ROOT, 0);
    if (root == TT_NONE) {
        tt_free(t);
        return NULL;
    }
    t->mn[root].want = 0;
    return t;
}

void tt_free(struct ttree *t)
{
    if (!t)
        return;
    free(t->pn);
    free(t->names);
    free(t->mn);
    free(t->pidx.slot);
    free(t->midx.slot);
    free(t->wp);
    free(t);
}
