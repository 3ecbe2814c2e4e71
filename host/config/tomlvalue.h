/* tomlvalue.h — internal to host/config/: what the line reader (tomlscan.c) needs from the
 * value decoder (tomlvalue.c): the decoding cursor over one line, key paths, and the
 * dotted-key parser (table headers and key lines are keys too). Everything else uses
 * toml.h. */
#ifndef EVM_TOMLVALUE_H
#define EVM_TOMLVALUE_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"
#include "config/toml.h"

/* Longest excerpt of document text quoted in a message (then "..."). */
#define TOML_EXCERPT_MAX 36

/* A position in one line of TOML text. */
struct toml_dec {
    const char *p, *end;
    struct evm_err *err; /* why decoding failed; NULL drops the message */
    int depth;           /* open arrays / inline tables */
};

/* A key path, parts joined by '.' ("vm.linux.cpus"). */
struct toml_kpath {
    char s[TOML_PATH_MAX];
    size_t len;
    bool opaque; /* a part was empty or held '.' or NUL, or the path is too long: it
                  * cannot equal or prefix any wanted path */
};

static inline bool toml_is_ws(char c)
{
    return c == ' ' || c == '\t';
}

static inline bool toml_is_bare(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
}

/* How many q characters start at p (before end). */
static inline size_t toml_quote_run(const char *p, const char *end, char q)
{
    size_t run = 0;
    while (p + run < end && p[run] == q)
        run++;
    return run;
}

void toml_dec_skip_ws(struct toml_dec *d);

/* Appends one part; a part that cannot be matched makes the path opaque. */
void toml_kpath_add(struct toml_kpath *k, const char *part, size_t n);

/* out = a.b (opaque when either is, or when it does not fit). */
void toml_kpath_join(struct toml_kpath *out, const struct toml_kpath *a,
                     const struct toml_kpath *b);

/* Parses a dotted key at d->p: parts (bare, "basic", 'literal') separated by '.' with
 * optional whitespace around the dots; stops after trailing whitespace. Returns 0, or
 * -EINVAL / -ENOMEM with the reason in d->err. */
int toml_parse_key(struct toml_dec *d, struct toml_kpath *k);

#endif
