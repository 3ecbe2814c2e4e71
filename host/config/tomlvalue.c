/* tomlvalue.c — the TOML value decoder (see toml.h): one line's value — strings and their
 * escapes, UTF-8 validation, integers, booleans, arrays, inline tables — and the dotted
 * keys and key paths that inline tables, table headers and key lines share
 * (tomlvalue.h). It never sees more than one line; the line reader is tomlscan.c. */
#include "config/tomlvalue.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "strutil.h"

static int parse_value(struct toml_dec *d, struct toml_value *out);

void toml_dec_skip_ws(struct toml_dec *d)
{
    while (d->p < d->end && toml_is_ws(*d->p))
        d->p++;
}

/* The line ends here for a value: its end, or a comment. */
static bool at_line_end(const struct toml_dec *d)
{
    return d->p >= d->end || *d->p == '#';
}

/* ---- UTF-8 --------------------------------------------------------------------------- */

/* Validates one UTF-8 sequence at p (strict: no overlongs, surrogates or > U+10FFFF).
 * Returns its length, or 0 when invalid. */
static size_t utf8_seq(const unsigned char *p, const unsigned char *end)
{
    unsigned c = p[0];
    size_t n;
    unsigned cp, min;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf) {
        n = 2, cp = c & 0x1f, min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3, cp = c & 0x0f, min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4, cp = c & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if ((size_t)(end - p) < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

static size_t put_utf8(char *o, unsigned cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xc0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xe0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        o[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    o[0] = (char)(0xf0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    o[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* ---- strings ------------------------------------------------------------------------- */

static int bad_escape(struct toml_dec *d)
{
    return evm_errf(d->err, EINVAL, "invalid escape sequence in a string");
}

/* The character a one-letter escape stands for, or -1. */
static int simple_escape(char e)
{
    switch (e) {
    case 'b':
        return '\b';
    case 't':
        return '\t';
    case 'n':
        return '\n';
    case 'f':
        return '\f';
    case 'r':
        return '\r';
    case '"':
        return '"';
    case '\\':
        return '\\';
    default:
        return -1;
    }
}

/* \uXXXX or \UXXXXXXXX: *sp is at the first hex digit. Writes the UTF-8 to o and returns
 * its length, or a negative errno. */
static int unicode_escape(struct toml_dec *d, char e, const char **sp, const char *end, char *o)
{
    size_t digits = e == 'u' ? 4 : 8;
    const char *s = *sp;
    if ((size_t)(end - s) < digits)
        return bad_escape(d);
    unsigned long cp = 0;
    for (size_t i = 0; i < digits; i++) {
        int h = hex_digit_value(s[i]);
        if (h < 0)
            return bad_escape(d);
        cp = (cp << 4) | (unsigned)h;
    }
    if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return evm_errf(d->err, EINVAL, "\\%c escape is not a Unicode scalar value", e);
    if (cp == 0)
        return evm_errf(d->err, EINVAL, "a NUL character in a string is not supported");
    *sp = s + digits;
    return (int)put_utf8(o, (unsigned)cp);
}

/* An escape: *sp is at the backslash. Writes the character(s) to o and returns how many,
 * or a negative errno. */
static int decode_escape(struct toml_dec *d, const char **sp, const char *end, char *o)
{
    const char *s = *sp + 1;
    if (s >= end)
        return bad_escape(d);
    char e = *s++;
    if (e == 'u' || e == 'U') {
        *sp = s;
        return unicode_escape(d, e, sp, end, o);
    }
    int c = simple_escape(e);
    if (c < 0)
        return bad_escape(d);
    *o = (char)c;
    *sp = s;
    return 1;
}

/* One literal character (a whole UTF-8 sequence) at *sp: copies it to o and returns its
 * length, or a negative errno for a control character or invalid UTF-8. */
static int copy_char(struct toml_dec *d, const char **sp, const char *end, char *o)
{
    unsigned char c = (unsigned char)**sp;
    if ((c < 0x20 && c != '\t') || c == 0x7f)
        return evm_errf(d->err, EINVAL, "control character 0x%02x in a string", c);
    size_t k = utf8_seq((const unsigned char *)*sp, (const unsigned char *)end);
    if (k == 0)
        return evm_errf(d->err, EINVAL, "invalid UTF-8 in a string");
    memcpy(o, *sp, k);
    *sp += k;
    return (int)k;
}

/* Decodes string content s[0..n) into a fresh buffer: escapes when basic, none when
 * literal. Rejects control characters (other than tab), invalid UTF-8 and NUL. */
static int decode_chars(struct toml_dec *d, const char *s, size_t n, bool basic, char **out,
                        size_t *out_len)
{
    const char *end = s + n;
    size_t o = 0;
    char *b = malloc(n + 1); /* an escape never decodes to more bytes than it takes */
    if (!b)
        return evm_errf(d->err, ENOMEM, "out of memory");
    while (s < end) {
        int k =
            basic && *s == '\\' ? decode_escape(d, &s, end, b + o) : copy_char(d, &s, end, b + o);
        if (k < 0) {
            free(b);
            return k;
        }
        o += (size_t)k;
    }
    b[o] = '\0';
    *out = b;
    *out_len = o;
    return 0;
}

/* Finds where the content of a string opened with quote q ends, starting at c: the closing
 * quote, or for a multi-line string the first of its three closing quotes (up to two more
 * quotes before them belong to the content). It must close on this line. */
static int find_string_end(struct toml_dec *d, const char *c, char q, bool ml, const char **stop)
{
    bool basic = q == '"';
    while (c < d->end) {
        if (basic && *c == '\\') {
            c += (d->end - c >= 2) ? 2 : 1;
            continue;
        }
        if (*c != q) {
            c++;
            continue;
        }
        if (!ml) {
            *stop = c;
            return 0;
        }
        size_t run = toml_quote_run(c, d->end, q);
        if (run > 5)
            return evm_errf(d->err, EINVAL, "too many quotes closing a multi-line string");
        if (run >= 3) {
            *stop = c + run - 3;
            return 0;
        }
        c += run;
    }
    return evm_errf(d->err, EINVAL,
                    ml ? "multi-line string not closed on this line" : "unterminated string");
}

/* Parses a string starting at d->p (a quote). Multi-line forms must close on this line. */
static int parse_string(struct toml_dec *d, char **out, size_t *out_len)
{
    char q = *d->p;
    bool ml = d->end - d->p >= 3 && d->p[1] == q && d->p[2] == q;
    const char *s = d->p + (ml ? 3 : 1);
    const char *stop = NULL;
    int r = find_string_end(d, s, q, ml, &stop);
    if (r < 0)
        return r;
    r = decode_chars(d, s, (size_t)(stop - s), q == '"', out, out_len);
    if (r < 0)
        return r;
    d->p = stop + (ml ? 3 : 1);
    return 0;
}

/* ---- integers and booleans ----------------------------------------------------------- */

static bool tok_end(char c)
{
    return toml_is_ws(c) || c == ',' || c == ']' || c == '}' || c == '#' || c == '\r' || c == '\n';
}

/* Digits of a base with single underscores between digits; accumulates into *v. */
static bool parse_digits(const char *s, size_t n, unsigned base, uint64_t limit, uint64_t *v)
{
    uint64_t acc = 0;
    bool prev_digit = false;
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '_') {
            if (!prev_digit || i + 1 == n)
                return false;
            prev_digit = false;
            continue;
        }
        int h = hex_digit_value(s[i]);
        if (h < 0 || (unsigned)h >= base)
            return false;
        if (acc > (limit - (unsigned)h) / base)
            return false; /* overflow */
        acc = acc * base + (unsigned)h;
        prev_digit = true;
    }
    *v = acc;
    return true;
}

static bool only_decimal_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
            return false;
    return true;
}

static void set_integer(struct toml_value *out, int64_t v)
{
    out->type = TOML_INTEGER;
    out->u.integer = v;
}

static bool parse_boolean(const char *s, size_t n, struct toml_value *out)
{
    if (n == 4 && memcmp(s, "true", 4) == 0)
        out->u.boolean = true;
    else if (n == 5 && memcmp(s, "false", 5) == 0)
        out->u.boolean = false;
    else
        return false;
    out->type = TOML_BOOLEAN;
    return true;
}

/* 0x / 0o / 0b followed by digits: s[0..n) with n > 2. ex: the token for messages. */
static int parse_prefixed(struct toml_dec *d, const char *s, size_t n, const char *ex,
                          struct toml_value *out)
{
    unsigned base = s[1] == 'x' ? 16 : s[1] == 'o' ? 8 : 2;
    uint64_t v;
    if (!parse_digits(s + 2, n - 2, base, INT64_MAX, &v))
        return evm_errf(d->err, EINVAL, "invalid integer \"%s\"", ex);
    set_integer(out, (int64_t)v);
    return 0;
}

/* A token that starts like a decimal integer (t[0..m), sign removed) but is none: names
 * what it looks like. */
static int reject_number(struct toml_dec *d, const char *t, size_t m, const char *ex,
                         bool leading_zero)
{
    if (memchr(t, '.', m) || memchr(t, 'e', m) || memchr(t, 'E', m))
        return evm_errf(d->err, EINVAL, "floats are not supported (\"%s\")", ex);
    if (memchr(t, '-', m) || memchr(t, ':', m))
        return evm_errf(d->err, EINVAL, "dates and times are not supported (\"%s\")", ex);
    return evm_errf(d->err, EINVAL, "invalid integer \"%s\"%s", ex,
                    leading_zero ? " (leading zero)" : "");
}

/* A decimal integer with an optional sign: s[0..n), n > 0. */
static int parse_decimal(struct toml_dec *d, const char *s, size_t n, const char *ex,
                         struct toml_value *out)
{
    bool neg = *s == '-';
    if (*s == '+' || *s == '-') {
        s++;
        n--;
    }
    if (n == 0 || s[0] < '0' || s[0] > '9') {
        if (n == 3 && (memcmp(s, "inf", 3) == 0 || memcmp(s, "nan", 3) == 0))
            return evm_errf(d->err, EINVAL, "floats are not supported (\"%s\")", ex);
        return evm_errf(d->err, EINVAL, "invalid value \"%s\"", ex);
    }
    if (n > 1 && s[0] == '0')
        return reject_number(d, s, n, ex, true);
    uint64_t v;
    uint64_t limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    if (parse_digits(s, n, 10, limit, &v)) {
        set_integer(out, neg ? (int64_t)(0 - v) : (int64_t)v);
        return 0;
    }
    if (only_decimal_digits(s, n) && parse_digits(s, n, 10, UINT64_MAX, &v))
        return evm_errf(d->err, EINVAL, "integer \"%s\" out of range", ex);
    return reject_number(d, s, n, ex, false);
}

/* A bare token at d->p: a boolean or an integer (anything else is refused by name). */
static int parse_scalar(struct toml_dec *d, struct toml_value *out)
{
    const char *s = d->p;
    while (d->p < d->end && !tok_end(*d->p))
        d->p++;
    size_t n = (size_t)(d->p - s);
    if (n == 0)
        return evm_errf(d->err, EINVAL, "missing value");
    if (parse_boolean(s, n, out))
        return 0;
    char ex[48];
    str_excerpt(ex, sizeof(ex), s, n, TOML_EXCERPT_MAX);
    if (n > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'o' || s[1] == 'b'))
        return parse_prefixed(d, s, n, ex, out);
    return parse_decimal(d, s, n, ex, out);
}

/* ---- key paths ----------------------------------------------------------------------- */

void toml_kpath_add(struct toml_kpath *k, const char *part, size_t n)
{
    if (k->opaque)
        return;
    if (n == 0 || memchr(part, '.', n) || memchr(part, '\0', n) ||
        k->len + (k->len ? 1 : 0) + n >= sizeof(k->s)) {
        k->opaque = true;
        return;
    }
    if (k->len)
        k->s[k->len++] = '.';
    memcpy(k->s + k->len, part, n);
    k->len += n;
    k->s[k->len] = '\0';
}

void toml_kpath_join(struct toml_kpath *out, const struct toml_kpath *a, const struct toml_kpath *b)
{
    *out = *a;
    if (b->opaque) {
        out->opaque = true;
        return;
    }
    /* b's parts never contain '.', so adding b->s as one "part" would be refused; copy. */
    if (out->opaque)
        return;
    if (out->len + (out->len ? 1 : 0) + b->len >= sizeof(out->s)) {
        out->opaque = true;
        return;
    }
    if (out->len)
        out->s[out->len++] = '.';
    memcpy(out->s + out->len, b->s, b->len);
    out->len += b->len;
    out->s[out->len] = '\0';
}

/* One part of a dotted key at d->p (not at the end): bare, "basic" or 'literal'. */
static int parse_key_part(struct toml_dec *d, struct toml_kpath *k)
{
    char q = *d->p;
    if (q != '"' && q != '\'') {
        const char *s = d->p;
        while (d->p < d->end && toml_is_bare(*d->p))
            d->p++;
        if (d->p == s)
            return evm_errf(d->err, EINVAL, "invalid key");
        toml_kpath_add(k, s, (size_t)(d->p - s));
        return 0;
    }
    if (d->end - d->p >= 3 && d->p[1] == q && d->p[2] == q)
        return evm_errf(d->err, EINVAL, "a multi-line string cannot be a key");
    char *part;
    size_t n;
    int r = parse_string(d, &part, &n);
    if (r < 0)
        return r;
    toml_kpath_add(k, part, n);
    free(part);
    return 0;
}

int toml_parse_key(struct toml_dec *d, struct toml_kpath *k)
{
    memset(k, 0, sizeof(*k));
    for (;;) {
        toml_dec_skip_ws(d);
        if (d->p >= d->end)
            return evm_errf(d->err, EINVAL, "missing key");
        int r = parse_key_part(d, k);
        if (r < 0)
            return r;
        toml_dec_skip_ws(d);
        if (d->p >= d->end || *d->p != '.')
            return 0;
        d->p++;
    }
}

/* ---- arrays and inline tables -------------------------------------------------------- */

/* Makes room for element len of *items (each size bytes, *cap allocated). */
static int grow(struct toml_dec *d, void **items, size_t *cap, size_t len, size_t size)
{
    if (len < *cap)
        return 0;
    size_t nc = *cap ? *cap * 2 : 4;
    void *n = realloc(*items, nc * size);
    if (!n)
        return evm_errf(d->err, ENOMEM, "out of memory");
    *items = n;
    *cap = nc;
    return 0;
}

/* After an element not followed by ',': the closing character, else why not. */
static int expect_close(struct toml_dec *d, char closer, const char *unclosed,
                        const char *unexpected)
{
    if (d->p < d->end && *d->p == closer) {
        d->p++;
        return 0;
    }
    return evm_errf(d->err, EINVAL, "%s", at_line_end(d) ? unclosed : unexpected);
}

static int parse_array_item(struct toml_dec *d, struct toml_value *a, size_t *cap)
{
    int r = grow(d, (void **)&a->u.array.items, cap, a->u.array.len, sizeof(struct toml_value));
    if (r < 0)
        return r;
    struct toml_value *it = &a->u.array.items[a->u.array.len++];
    memset(it, 0, sizeof(*it));
    return parse_value(d, it);
}

static int parse_array(struct toml_dec *d, struct toml_value *out)
{
    size_t cap = 0;
    out->type = TOML_ARRAY;
    d->p++; /* '[' */
    for (;;) {
        toml_dec_skip_ws(d);
        if (at_line_end(d))
            return evm_errf(d->err, EINVAL, "array not closed on this line");
        if (*d->p == ']') {
            d->p++;
            return 0;
        }
        int r = parse_array_item(d, out, &cap);
        if (r < 0)
            return r;
        toml_dec_skip_ws(d);
        if (d->p >= d->end || *d->p != ',')
            return expect_close(d, ']', "array not closed on this line",
                                "expected ',' or ']' in an array");
        d->p++;
    }
}

/* "key = value" inside an inline table. */
static int parse_table_entry(struct toml_dec *d, struct toml_value *t, size_t *cap)
{
    struct toml_kpath k;
    int r = toml_parse_key(d, &k);
    if (r < 0)
        return r;
    if (d->p >= d->end || *d->p != '=')
        return evm_errf(d->err, EINVAL, "expected '=' after a key in an inline table");
    d->p++;
    toml_dec_skip_ws(d);
    r = grow(d, (void **)&t->u.table.items, cap, t->u.table.len, sizeof(struct toml_kv));
    if (r < 0)
        return r;
    struct toml_kv *kv = &t->u.table.items[t->u.table.len++];
    memset(kv, 0, sizeof(*kv));
    kv->opaque = k.opaque;
    kv->key = strdup(k.opaque ? "" : k.s);
    if (!kv->key)
        return evm_errf(d->err, ENOMEM, "out of memory");
    return parse_value(d, &kv->value);
}

static int parse_inline_table(struct toml_dec *d, struct toml_value *out)
{
    size_t cap = 0;
    out->type = TOML_TABLE;
    d->p++; /* '{' */
    toml_dec_skip_ws(d);
    if (d->p < d->end && *d->p == '}') {
        d->p++;
        return 0;
    }
    for (;;) {
        int r = parse_table_entry(d, out, &cap);
        if (r < 0)
            return r;
        toml_dec_skip_ws(d);
        if (d->p >= d->end || *d->p != ',')
            return expect_close(d, '}', "inline table not closed on this line",
                                "expected ',' or '}' in an inline table");
        d->p++;
        toml_dec_skip_ws(d);
        if (d->p < d->end && *d->p == '}') { /* trailing comma (TOML 1.1) */
            d->p++;
            return 0;
        }
    }
}

/* ---- values -------------------------------------------------------------------------- */

static int parse_value(struct toml_dec *d, struct toml_value *out)
{
    toml_dec_skip_ws(d);
    if (d->p >= d->end)
        return evm_errf(d->err, EINVAL, "missing value");
    char c = *d->p;
    if (c == '"' || c == '\'') {
        out->type = TOML_STRING;
        int r = parse_string(d, &out->u.str.ptr, &out->u.str.len);
        if (r < 0)
            out->type = TOML_NONE;
        return r;
    }
    if (c != '[' && c != '{')
        return parse_scalar(d, out);
    if (d->depth >= TOML_MAX_DEPTH)
        return evm_errf(d->err, EINVAL, "nested more than %d levels deep", TOML_MAX_DEPTH);
    d->depth++;
    int r = c == '[' ? parse_array(d, out) : parse_inline_table(d, out);
    d->depth--;
    return r;
}

/* After a value: only whitespace, a comment, or the line end. */
static int expect_value_end(struct toml_dec *d)
{
    toml_dec_skip_ws(d);
    while (d->end > d->p && (d->end[-1] == '\r' || d->end[-1] == '\n'))
        d->end--;
    if (at_line_end(d))
        return 0;
    char ex[48];
    str_excerpt(ex, sizeof(ex), d->p, (size_t)(d->end - d->p), TOML_EXCERPT_MAX);
    return evm_errf(d->err, EINVAL, "unexpected \"%s\" after the value", ex);
}

int toml_decode_value(const char *text, size_t len, struct toml_value *out, struct evm_err *err)
{
    struct toml_dec d = {.p = text, .end = text + len, .err = err};
    memset(out, 0, sizeof(*out));
    int r = parse_value(&d, out);
    if (r == 0)
        r = expect_value_end(&d);
    if (r < 0)
        toml_value_free(out);
    return r;
}

void toml_value_free(struct toml_value *v)
{
    if (!v)
        return;
    switch (v->type) {
    case TOML_STRING:
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
    default:
        return "nothing";
    }
}
