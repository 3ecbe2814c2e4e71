/* tomltree.h — internal to host/config/: the key rules of a TOML document (tomltree.c),
 * exactly as the daemon's parser applies them (BurntSushi/toml v1.6.0, parse.go: its
 * mapping of tables, its per-key-path types and "implicit" marks, and the table each
 * inline table builds), so a document is refused for a key or table defined twice exactly
 * when the daemon refuses it, and our keys end up where the daemon puts them. It keeps
 * names and structure only, never values: memory grows with the document's keys.
 *
 * Two trees: key paths (what the daemon keys its types and implicit marks by, one node per
 * distinct dotted path) and the mapping (one node per table, array of tables or value; the
 * elements of an array of tables are separate tables). */
#ifndef EVM_TOMLTREE_H
#define EVM_TOMLTREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/toml.h"

#define TT_NONE UINT32_MAX
#define TT_ROOT 0u /* the root key path and the root table */

/* What a mapping node is. */
enum tt_kind {
    TK_TABLE,  /* a table (from a header, dotted keys or an inline table) */
    TK_AOT,    /* an array of tables */
    TK_VALUE,  /* any other value */
    TK_TMAP,   /* a table inside an inline table's own view of itself */
    TK_TOTHER, /* a non-table inside that view */
};

/* The table keys are being added to: its key path, and its mapping node, or TT_NONE when
 * the path holds a value (`bad`): adding a key there fails. */
struct tt_ctx {
    uint32_t path, map, bad;
};

enum tt_fail_kind {
    TF_DUPLICATE,  /* a key or table defined twice */
    TF_NOT_TABLE,  /* a key below a value */
    TF_NOT_AOT,    /* [[x]] where x is not an array of tables */
    TF_INLINE_KEY, /* a dotted key in an inline table below a non-table of that table */
    TF_NOMEM,
};

/* Why an operation failed: the key path it is about, and the node already there. */
struct tt_fail {
    enum tt_fail_kind kind;
    uint32_t path;
    uint32_t node; /* TT_NONE when unknown */
};

struct ttree;

/* want_paths: dotted paths of bare parts ("vm.linux.cpus"), noted so that leaves set at
 * them can be found while reading (tt_want_at). */
struct ttree *tt_new(const char *const *want_paths, size_t n);
void tt_free(struct ttree *t);

struct tt_ctx tt_root(const struct ttree *t);

/* The key path parent + name (created when new): TT_NONE when out of memory. */
uint32_t tt_path(struct ttree *t, uint32_t parent, const char *name, size_t len);

/* [a.b.c] (aot: [[a.b.c]]): paths[i] is the path of the first i + 1 parts. *out is the
 * table its keys go into. */
int tt_header(struct ttree *t, const uint32_t *paths, size_t n, bool aot, int line,
              struct tt_ctx *out, struct tt_fail *f);

/* One non-last part of a dotted key: ctx descends into it. */
int tt_dotted(struct ttree *t, struct tt_ctx *ctx, uint32_t path, int line, struct tt_fail *f);

/* An inline table as the value of path in ctx (in_array: an element of an array):
 * before its keys; *out is the table they go into. */
int tt_inline_open(struct ttree *t, const struct tt_ctx *ctx, uint32_t path, bool in_array,
                   int line, struct tt_ctx *out, struct tt_fail *f);
/* After its keys (not for an element of an array). */
int tt_inline_close(struct ttree *t, const struct tt_ctx *ctx, uint32_t path, int line,
                    struct tt_fail *f);

/* Any other value of type `type` at path in ctx: *node is the new node, or TT_NONE when
 * the daemon keeps what was there (and drops this value). */
int tt_value(struct ttree *t, const struct tt_ctx *ctx, uint32_t path, enum toml_type type,
             int line, uint32_t *node, struct tt_fail *f);

/* Records the type of the value just set at path (empty_name: its last part is ""). */
void tt_set_type(struct ttree *t, const struct tt_ctx *ctx, uint32_t path, bool empty_name,
                 bool is_array);

/* The index of the wanted path that path in ctx is, or -1. */
int tt_want_at(const struct ttree *t, const struct tt_ctx *ctx, uint32_t path);

/* An inline table's own view of its keys: a new root (TT_NONE when out of memory); a walk
 * through one non-last part of a dotted key in it (*target descends); and the value set at
 * path (table: an inline table, *node its new root). */
uint32_t tt_view_root(struct ttree *t);
int tt_view_walk(struct ttree *t, uint32_t *target, uint32_t path, struct tt_fail *f);
int tt_view_set(struct ttree *t, uint32_t target, uint32_t path, bool table, uint32_t *node,
                struct tt_fail *f);

/* Reading the mapping: the child of table node `map` named name[0..len) (TT_NONE when
 * absent), and what a node is. */
uint32_t tt_child(const struct ttree *t, uint32_t map, const char *name, size_t len);
enum tt_kind tt_node_kind(const struct ttree *t, uint32_t node);
int tt_node_line(const struct ttree *t, uint32_t node);
enum toml_type tt_node_type(const struct ttree *t, uint32_t node); /* of a TK_VALUE */
/* What a node holds, for messages: "a table", "an array of tables", "an integer"... */
const char *tt_node_what(const struct ttree *t, uint32_t node);

/* A key path for messages ("vm.linux.cpus", 'a."b c"'), cut from the left to fit. */
void tt_path_text(const struct ttree *t, uint32_t path, char *out, size_t size);

#endif
