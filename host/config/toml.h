/* toml.h — a small TOML value layer on top of inih: reads the few keys a caller wants
 * out of a TOML document that may hold much more (arrays of tables, multi-line arrays and
 * strings, inline tables, very long lines), and decodes their values. The line reader and
 * key matching live in tomlscan.c, the value decoder in tomlvalue.c.
 *
 * What is decoded: basic strings "..." (escapes \b \t \n \f \r \" \\ \uXXXX \UXXXXXXXX),
 * literal strings '...', single-line """...""" and '''...''', integers (decimal with an
 * optional sign, underscores between digits; 0x / 0o / 0b), booleans, single-line arrays
 * and single-line inline tables of those; a trailing "# comment" after a value.
 * Floats, dates and times are not decoded (an error when a wanted key holds one).
 *
 * How a document is read (toml_read):
 *  - inih (built with INI_HANDLER_LINENO) splits key lines into key and raw value; our own
 *    reader feeds it one source line per call, so its line numbers are the file's.
 *  - Continuation lines of constructs inih cannot handle — multi-line arrays, multi-line
 *    strings, inline tables spanning lines — reach inih as empty lines. The key line that
 *    opens such a construct still reaches inih; its value is "incomplete": fine for keys
 *    nobody wants, an error for a wanted key.
 *  - Table headers are tracked by the reader itself (inih keeps only 49 bytes of a section
 *    name and stops at the first ']'): [a.b], [ a . "b" ], [[array.of.tables]].
 *    Keys inside [[...]] tables, and wanted keys below a path declared as [[...]], are
 *    never matched (they belong to array elements, not to the wanted table).
 *  - Dotted keys are composed with the current table: "vm.linux.cpus = 2" at top level,
 *    "linux.cpus = 2" under [vm] and "cpus = 2" under [vm.linux] are the same key, and
 *    "linux = { cpus = 2 }" under [vm] too.
 *  - CRLF line ends and a UTF-8 BOM are accepted. A NUL byte is never valid; inih is handed
 *    0x7f in its place (it would end the line early), so a wanted key's line is checked for
 *    one first and the error names the NUL and its column, not 0x7f.
 *
 * Errors (-EINVAL, or a check's own code, message "<name>:<line>: <key>: <what>"):
 *  - a wanted key whose value does not decode, fails its check, or spans several lines;
 *  - a NUL byte anywhere on a wanted key's line (key, value, comment), on a line in a wanted
 *    key's table that starts with its name, or in a table header naming a wanted table:
 *    "a NUL byte (0x00) at column <n>: not allowed in TOML" (columns count bytes from 1);
 *  - a wanted key defined twice (the message names both lines);
 *  - a key that is a prefix of a wanted key but holds something other than a table;
 *  - a line in a wanted key's table that starts with a wanted key's name but is not a
 *    "key = value" line;
 *  - a multi-line construct still open at the end of the document (the document is not
 *    TOML, and every line after it would have been hidden).
 * Not errors: anything else the reader or inih cannot parse (junk lines, bad headers,
 * bad values of keys nobody wants) is ignored with a debug log; after an unparsable table
 * header, keys are ignored until the next valid one. */
#ifndef EVM_TOML_H
#define EVM_TOML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define TOML_MAX_BYTES (1024u * 1024u) /* toml_read refuses larger documents (-EFBIG) */
#define TOML_PATH_MAX 128              /* longest wanted key path, "vm.linux.cpus" */
#define TOML_MAX_DEPTH 32              /* array / inline-table nesting */

enum toml_type {
    TOML_NONE = 0,
    TOML_STRING,
    TOML_INTEGER,
    TOML_BOOLEAN,
    TOML_ARRAY,
    TOML_TABLE,
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
    bool opaque; /* a part was empty or contained '.': the key never matches a wanted one */
    struct toml_value value;
};

/* Decodes one value from text[0..len) (no newline inside), followed by optional
 * whitespace and an optional "# comment". On error returns -EINVAL (or -ENOMEM) with a
 * short reason in err ("invalid value \"abc\""); *out is left TOML_NONE. */
int toml_decode_value(const char *text, size_t len, struct toml_value *out, struct evm_err *err);
void toml_value_free(struct toml_value *v);
const char *toml_type_name(enum toml_type t);

/* Checks a decoded value of a wanted key (type, range, choices): 0 when acceptable, else
 * a negative errno with a short reason in err, which toml_read returns as
 * "<name>:<line>: <key>: <reason>" ("invalid value" when the check gave none). */
typedef int (*toml_check_fn)(const struct toml_value *v, const void *arg, struct evm_err *err);

/* A key the caller wants. path: full dotted path of bare parts ("vm.linux.cpus").
 * check (optional) runs as soon as the key is read, so errors come in file order. */
struct toml_want {
    const char *path;
    toml_check_fn check;
    const void *check_arg;
    int line;                /* out: line of its definition, 0 = absent */
    struct toml_value value; /* out: decoded value when line != 0 */
    bool shadowed_;          /* private */
};

/* Reads the wanted keys from a document; name is used in messages. On success every
 * present wanted key has line and value set (free them with toml_wants_free, also after
 * an error). */
int toml_read(const char *name, const char *bytes, size_t len, struct toml_want *wants, size_t n,
              struct evm_err *err);
void toml_wants_free(struct toml_want *wants, size_t n);

#endif
