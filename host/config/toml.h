/* toml.h — the TOML layer: reads the few keys a caller wants out of a TOML document that
 * may hold much more, accepting exactly the documents the in-VM daemon's parser accepts
 * (BurntSushi/toml v1.6.0, TOML 1.1) and decoding the wanted keys as it does. The line
 * feeding and key matching live in tomlscan.c, statements and values in tomlparse.c,
 * tokens in tomllex.c, the key rules in tomltree.c, the public value API in tomlvalue.c.
 *
 * What is read: the whole document, TOML 1.1 — every line is checked, wanted or not:
 *  - strings of the four kinds, escapes \b \t \n \f \r \e \" \\ \xHH \uXXXX \UXXXXXXXX,
 *    multi-line strings with their trimming (the newline right after the opening
 *    delimiter; a line-ending backslash and the whitespace after it);
 *  - integers (decimal, 0x / 0o / 0b, underscores between digits), floats (with inf and
 *    nan; one past the double range is refused, as the daemon does), booleans, offset and
 *    local date-times, dates and times (RFC 3339; seconds optional as in TOML 1.1; an
 *    offset up to 24:60 as the daemon's Go accepts);
 *  - arrays and inline tables over any number of lines, with comments inside; inline tables
 *    with newlines and a trailing comma (TOML 1.1); any nesting depth (no recursion);
 *  - dotted, quoted and empty ("") keys, [tables] and [[arrays of tables]], and the key
 *    rules as the daemon applies them (a key or table defined twice, a value extended
 *    later, [[x]] over a table): the daemon tolerates a few documents TOML 1.1 forbids
 *    (e.g. `a = {b = 1}` then `a.c = 2`), and so does this layer;
 *  - a UTF-8 (or, like the daemon, UTF-16) byte order mark; LF or CRLF line ends.
 * Refused: any byte TOML never allows (NUL, other control characters, a CR not before LF,
 * invalid UTF-8), named with its column.
 *
 * How a document is read (toml_read):
 *  - inih (built with INI_HANDLER_LINENO) splits each one-line "key = value" statement
 *    into key and raw value; the key and the value are then parsed from its split, and its
 *    line numbers are the file's (our reader feeds it one source line per call).
 *  - Everything inih cannot split as TOML means it is read by the TOML layer from the
 *    document itself, and inih sees an empty line in its place: table headers (inih keeps
 *    49 bytes of a section name and stops at the first ']'), comments, values spanning
 *    lines, keys holding '=' or ':' inside quotes (inih splits at the first of them), and
 *    lines with a byte TOML refuses (inih would end the line at a NUL).
 *  - A wanted key is found where the daemon would: in the document's tables as its key
 *    rules build them ([vm.linux] cpus, vm.linux.cpus, [vm] linux = { cpus = 2 }, ...);
 *    keys in an array of tables or in an array never count. Its value is decoded (at most
 *    TOML_MAX_DEPTH levels of arrays and tables; a string without NUL); nothing else is.
 *
 * Errors (-EINVAL unless said, message "<name>:<line>: <key>: <what>", the key when there
 * is one, its full dotted path):
 *  - invalid TOML anywhere, with the line of the fault (a value left open at the end of the
 *    file: the line it starts on, "... is never closed");
 *  - a key or table the daemon would refuse as defined twice (the message names both lines)
 *    or extended where it cannot be;
 *  - after the whole document: a wanted key whose value fails its check (the check's own
 *    code), or a prefix of a wanted key ("vm", "vm.linux") that is not a table: the first in
 *    file order. */
#ifndef EVM_TOML_H
#define EVM_TOML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define TOML_MAX_BYTES (1024u * 1024u) /* toml_read refuses larger documents (-EFBIG) */
#define TOML_PATH_MAX 128              /* longest wanted key path, "vm.linux.cpus" */
#define TOML_MAX_DEPTH 32              /* array / inline-table nesting of a decoded value */

enum toml_type {
    TOML_NONE = 0,
    TOML_STRING,
    TOML_INTEGER,
    TOML_BOOLEAN,
    TOML_ARRAY,
    TOML_TABLE,
    TOML_FLOAT,
    TOML_DATETIME, /* u.str: the text as written ("1979-05-27T07:32:00Z") */
};

struct toml_kv;

struct toml_value {
    enum toml_type type;
    union {
        struct {
            char *ptr; /* NUL-terminated, valid UTF-8, no NUL inside; len == strlen */
            size_t len;
        } str;
        int64_t integer;
        bool boolean;
        double floating;
        struct {
            struct toml_value *items;
            size_t len;
        } array;
        struct {
            struct toml_kv *items;
            size_t len;
        } table;
    } u;
};

struct toml_kv {
    char *key;   /* dotted path as written in the inline table, parts joined by '.' */
    bool opaque; /* a part was empty or contained '.' or NUL: key is "" */
    struct toml_value value;
};

/* Decodes one value from text[0..len) (it may span lines as TOML allows), followed by
 * optional whitespace, comments and newlines. On error returns -EINVAL (or -ENOMEM) with a
 * short reason in err ("invalid value \"abc\""); *out is left TOML_NONE. */
int toml_decode_value(const char *text, size_t len, struct toml_value *out, struct evm_err *err);
void toml_value_free(struct toml_value *v);
const char *toml_type_name(enum toml_type t);

/* Checks a decoded value of a wanted key (type, range, choices): 0 when acceptable, else
 * a negative errno with a short reason in err, which toml_read returns as
 * "<name>:<line>: <key>: <reason>" ("invalid value" when the check gave none). A wanted
 * key holding a table or an array of tables is checked as TOML_TABLE / TOML_ARRAY without
 * items. */
typedef int (*toml_check_fn)(const struct toml_value *v, const void *arg, struct evm_err *err);

/* A key the caller wants. path: full dotted path of bare parts ("vm.linux.cpus"). */
struct toml_want {
    const char *path;
    toml_check_fn check; /* optional; runs once the whole document is read */
    const void *check_arg;
    int line;                /* out: line of its definition, 0 = absent */
    struct toml_value value; /* out: decoded value when line != 0 */
    uint32_t node_;          /* private */
};

/* Reads the wanted keys from a document; name is used in messages. On success every
 * present wanted key has line and value set (free them with toml_wants_free, also after
 * an error). */
int toml_read(const char *name, const char *bytes, size_t len, struct toml_want *wants, size_t n,
              struct evm_err *err);
void toml_wants_free(struct toml_want *wants, size_t n);

#endif
