/* tomlparse.h — internal to host/config/: the TOML statement and value parser
 * (tomlparse.c): table headers, key/value lines, and values of every kind including
 * arrays and inline tables over several lines (TOML 1.1: newlines, comments and a trailing
 * comma in inline tables), without recursion (an explicit stack of open values). It checks
 * syntax with tomllex.c and the key rules with tomltree.c, and decodes only the values of
 * wanted keys (or the one value of toml_decode_value). */
#ifndef EVM_TOMLPARSE_H
#define EVM_TOMLPARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/toml.h"
#include "config/tomltree.h"

/* Why parsing stopped. */
struct tp_error {
    int code;      /* EINVAL or ENOMEM */
    int line;      /* where */
    int stmt_line; /* line of the statement it happened in */
    bool eof;      /* the document ended inside a value ("never closed") */
    uint32_t key;  /* key path it is about (in the tree), TT_NONE */
    char what[300];
};

enum tp_kind { TP_BLANK, TP_HEADER, TP_KEYVAL };

/* A wanted key's value was set (node: its mapping node). The callback takes over v's
 * contents (v itself stays the parser's). */
typedef void (*tp_want_fn)(void *ctx, int want, uint32_t node, struct toml_value *v, int line);

struct tparser;

/* tree NULL: syntax only (no key rules, nothing decoded) — to find where a statement
 * ends before reading it for real. */
struct tparser *tp_new(struct ttree *tree, tp_want_fn on_want, void *want_ctx);
void tp_free(struct tparser *p);

/* Reads one statement at text[0..len) (text starts a line numbered `line`): a blank or
 * comment line, a table header, or a key/value whose value may span lines; through its
 * newline. *end is where the next statement starts, *kind what it was. */
int tp_statement(struct tparser *p, const char *text, size_t len, int line, enum tp_kind *kind,
                 const char **end);

/* Where the '=' of the last key/value statement was. */
const char *tp_equals(const struct tparser *p);

/* A one-line key/value handed over split: key text and value text (with an optional
 * trailing comment), both from line `line`. */
int tp_keyval_split(struct tparser *p, const char *key, size_t klen, const char *value, size_t vlen,
                    int line);

/* One value alone (toml_decode_value): text[0..len) holds the value, then only
 * whitespace, comments and newlines. */
int tp_decode(struct tparser *p, const char *text, size_t len, struct toml_value *out);

const struct tp_error *tp_error(const struct tparser *p);

#endif
