/* tomlvalue.c — the public value API of the TOML layer (toml.h): decoding one value on its
 * own (through the same parser and key rules as a document), freeing decoded values, and
 * the names of value types for messages. */
#include "config/toml.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config/tomlparse.h"
#include "config/tomltree.h"

int toml_decode_value(const char *text, size_t len, struct toml_value *out, struct evm_err *err)
{
    memset(out, 0, sizeof(*out));
    struct ttree *tree = tt_new(NULL, 0);
    struct tparser *p = tree ? tp_new(tree, NULL, NULL) : NULL;
    int r;
    if (!p) {
        r = evm_errf(err, ENOMEM, "out of memory");
    } else if ((r = tp_decode(p, text, len, out)) < 0) {
        const struct tp_error *e = tp_error(p);
        r = evm_errf(err, e->code, "%s", e->what);
    }
    if (r < 0)
        toml_value_free(out);
    tp_free(p);
    tt_free(tree);
    return r;
}

void toml_value_free(struct toml_value *v)
{
    if (!v)
        return;
    switch (v->type) {
    case TOML_STRING:
    case TOML_DATETIME:
        free(v->u.str.ptr);
        break;
    case TOML_ARRAY:
        for (size_t i = 0; i < v->u.array.len; i++)
            toml_value_free(&v->u.array.items[i]);
        free(v->u.array.items);
        break;
    case TOML_TABLE:
        for (size_t i = 0; i < v->u.table.len; i++) {
            free(v->u.table.items[i].key);
            toml_value_free(&v->u.table.items[i].value);
        }
        free(v->u.table.items);
        break;
    default:
        break;
    }
    memset(v, 0, sizeof(*v));
}

const char *toml_type_name(enum toml_type t)
{
    switch (t) {
    case TOML_STRING:
        return "a string";
    case TOML_INTEGER:
        return "an integer";
    case TOML_BOOLEAN:
        return "a boolean";
    case TOML_ARRAY:
        return "an array";
    case TOML_TABLE:
        return "a table";
    case TOML_FLOAT:
        return "a float";
    case TOML_DATETIME:
        return "a date/time";
    default:
        return "nothing";
    }
}
