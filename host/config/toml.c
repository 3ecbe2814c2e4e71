/* toml.c — the TOML value layer over inih (see toml.h): value decoding, key paths, the
 * line reader that feeds inih and masks multi-line constructs, and wanted-key matching. */
#include "config/toml.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ini.h"
#include "log.h"

/* ---- small helpers ------------------------------------------------------------------ */

static bool is_ws(char c)
{
    return c == ' ' || c == '\t';
}

static bool is_bare(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
}

/* Writes a printable, bounded excerpt of s[0..n) to out (for messages). */
static void excerpt(char *out, size_t size, const char *s, size_t n)
{
    size_t o = 0, max = size > 40 ? 36 : (size > 4 ? size - 4 : 0);
    for (size_t i = 0; i < n && o < max; i++) {
        unsigned char c = (unsigned char)s[i];
        out[o++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
    if (n > max && o + 3 < size) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    if (size)
        out[o < size ? o : size - 1] = '\0';
}

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

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* ---- decoder ------------------------------------------------------------------------ */

struct dec {
    const char *p, *end;
    char *what;
    size_t what_size;
    int depth;
};

static int dfail(struct dec *d, const char *fmt, ...) EVM_PRINTF(2, 3);
static int dfail(struct dec *d, const char *fmt, ...)
{
    if (d->what && d->what_size) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(d->what, d->what_size, fmt, ap);
        va_end(ap);
    }
    return -EINVAL;
}

static void dskip_ws(struct dec *d)
{
    while (d->p < d->end && is_ws(*d->p))
        d->p++;
}

/* Decodes string content s[0..n) into a fresh buffer: escapes when basic, none when
 * literal. Rejects control characters (other than tab), invalid UTF-8 and NUL. */
static int decode_chars(struct dec *d, const char *s, size_t n, bool basic, char **out,
                        size_t *out_len)
{
    char *b = malloc(n + 1);
    if (!b)
        return dfail(d, "out of memory"), -ENOMEM;
    size_t o = 0;
    const char *end = s + n;
    while (s < end) {
        unsigned char c = (unsigned char)*s;
        if (basic && c == '\\') {
            if (s + 1 >= end)
                goto bad_escape;
            char e = s[1];
            s += 2;
            switch (e) {
            case 'b':
                b[o++] = '\b';
                break;
            case 't':
                b[o++] = '\t';
                break;
            case 'n':
                b[o++] = '\n';
                break;
            case 'f':
                b[o++] = '\f';
                break;
            case 'r':
                b[o++] = '\r';
                break;
            case '"':
                b[o++] = '"';
                break;
            case '\\':
                b[o++] = '\\';
                break;
            case 'u':
            case 'U': {
                size_t digits = e == 'u' ? 4 : 8;
                if ((size_t)(end - s) < digits)
                    goto bad_escape;
                unsigned long cp = 0;
                for (size_t i = 0; i < digits; i++) {
                    int h = hexval(s[i]);
                    if (h < 0)
                        goto bad_escape;
                    cp = (cp << 4) | (unsigned)h;
                }
                s += digits;
                if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
                    free(b);
                    return dfail(d, "\\%c escape is not a Unicode scalar value", e);
                }
                if (cp == 0) {
                    free(b);
                    return dfail(d, "a NUL character in a string is not supported");
                }
                o += put_utf8(b + o, (unsigned)cp);
                break;
            }
            default:
                goto bad_escape;
            }
            continue;
        }
        if ((c < 0x20 && c != '\t') || c == 0x7f) {
            free(b);
            return dfail(d, "control character 0x%02x in a string", c);
        }
        size_t k = utf8_seq((const unsigned char *)s, (const unsigned char *)end);
        if (k == 0) {
            free(b);
            return dfail(d, "invalid UTF-8 in a string");
        }
        memcpy(b + o, s, k);
        o += k;
        s += k;
    }
    b[o] = '\0';
    *out = b;
    *out_len = o;
    return 0;
bad_escape:
    free(b);
    return dfail(d, "invalid escape sequence in a string");
}

/* Parses a string starting at d->p (a quote). Multi-line forms must close on this line. */
static int parse_string(struct dec *d, char **out, size_t *out_len)
{
    char q = *d->p;
    bool basic = q == '"';
    bool ml = d->end - d->p >= 3 && d->p[1] == q && d->p[2] == q;
    const char *s = d->p + (ml ? 3 : 1);
    const char *c = s;
    while (c < d->end) {
        if (basic && *c == '\\') {
            c += (d->end - c >= 2) ? 2 : 1;
            continue;
        }
        if (*c == q) {
            if (!ml)
                break;
            size_t run = 0;
            while (c + run < d->end && c[run] == q)
                run++;
            if (run >= 3) {
                if (run > 5)
                    return dfail(d, "too many quotes closing a multi-line string");
                c += run - 3; /* up to two quotes belong to the content */
                break;
            }
            c += run;
            continue;
        }
        c++;
    }
    if (c >= d->end)
        return dfail(d, ml ? "multi-line string not closed on this line" : "unterminated string");
    int r = decode_chars(d, s, (size_t)(c - s), basic, out, out_len);
    if (r < 0)
        return r;
    d->p = c + (ml ? 3 : 1);
    return 0;
}

static bool tok_end(char c)
{
    return is_ws(c) || c == ',' || c == ']' || c == '}' || c == '#' || c == '\r' || c == '\n';
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
        int h = hexval(s[i]);
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

static int parse_scalar(struct dec *d, struct toml_value *out)
{
    const char *s = d->p;
    while (d->p < d->end && !tok_end(*d->p))
        d->p++;
    size_t n = (size_t)(d->p - s);
    char ex[48];
    excerpt(ex, sizeof(ex), s, n);
    if (n == 0)
        return dfail(d, "missing value");
    if (n == 4 && memcmp(s, "true", 4) == 0) {
        out->type = TOML_BOOLEAN;
        out->u.boolean = true;
        return 0;
    }
    if (n == 5 && memcmp(s, "false", 5) == 0) {
        out->type = TOML_BOOLEAN;
        out->u.boolean = false;
        return 0;
    }
    uint64_t v;
    if (n > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'o' || s[1] == 'b')) {
        unsigned base = s[1] == 'x' ? 16 : s[1] == 'o' ? 8 : 2;
        if (!parse_digits(s + 2, n - 2, base, INT64_MAX, &v))
            return dfail(d, "invalid integer \"%s\"", ex);
        out->type = TOML_INTEGER;
        out->u.integer = (int64_t)v;
        return 0;
    }
    bool neg = false;
    const char *t = s;
    size_t m = n;
    if (*t == '+' || *t == '-') {
        neg = *t == '-';
        t++;
        m--;
    }
    if (m > 0 && t[0] >= '0' && t[0] <= '9') {
        if (m > 1 && t[0] == '0') {
            if (memchr(t, '.', m) || memchr(t, 'e', m) || memchr(t, 'E', m))
                return dfail(d, "floats are not supported (\"%s\")", ex);
            if (memchr(t, '-', m) || memchr(t, ':', m))
                return dfail(d, "dates and times are not supported (\"%s\")", ex);
            return dfail(d, "invalid integer \"%s\" (leading zero)", ex);
        }
        uint64_t limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
        if (parse_digits(t, m, 10, limit, &v)) {
            out->type = TOML_INTEGER;
            out->u.integer = neg ? (int64_t)(0 - v) : (int64_t)v;
            return 0;
        }
        bool all_digits = true;
        for (size_t i = 0; i < m; i++)
            if (!((t[i] >= '0' && t[i] <= '9') || t[i] == '_'))
                all_digits = false;
        if (all_digits && parse_digits(t, m, 10, UINT64_MAX, &v))
            return dfail(d, "integer \"%s\" out of range", ex);
        if (memchr(t, '.', m) || memchr(t, 'e', m) || memchr(t, 'E', m))
            return dfail(d, "floats are not supported (\"%s\")", ex);
        if (memchr(t, '-', m) || memchr(t, ':', m))
            return dfail(d, "dates and times are not supported (\"%s\")", ex);
        return dfail(d, "invalid integer \"%s\"", ex);
    }
    if ((m == 3 && (memcmp(t, "inf", 3) == 0 || memcmp(t, "nan", 3) == 0)))
        return dfail(d, "floats are not supported (\"%s\")", ex);
    return dfail(d, "invalid value \"%s\"", ex);
}

/* ---- key paths ---------------------------------------------------------------------- */

struct kpath {
    char s[TOML_PATH_MAX];
    size_t len;
    bool opaque; /* cannot equal or prefix any wanted path */
};

static void kpath_add(struct kpath *k, const char *part, size_t n)
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

static void kpath_join(struct kpath *out, const struct kpath *a, const struct kpath *b)
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

/* Parses a dotted key at d->p: parts (bare, "basic", 'literal') separated by '.' with
 * optional whitespace around the dots. Stops after trailing whitespace. */
static int parse_key(struct dec *d, struct kpath *k)
{
    memset(k, 0, sizeof(*k));
    for (;;) {
        dskip_ws(d);
        if (d->p >= d->end)
            return dfail(d, "missing key");
        if (*d->p == '"' || *d->p == '\'') {
            if (d->end - d->p >= 3 && d->p[1] == *d->p && d->p[2] == *d->p)
                return dfail(d, "a multi-line string cannot be a key");
            char *part;
            size_t n;
            int r = parse_string(d, &part, &n);
            if (r < 0)
                return r;
            kpath_add(k, part, n);
            free(part);
        } else {
            const char *s = d->p;
            while (d->p < d->end && is_bare(*d->p))
                d->p++;
            if (d->p == s)
                return dfail(d, "invalid key");
            kpath_add(k, s, (size_t)(d->p - s));
        }
        dskip_ws(d);
        if (d->p < d->end && *d->p == '.') {
            d->p++;
            continue;
        }
        return 0;
    }
}

/* ---- values ------------------------------------------------------------------------- */

static int parse_value(struct dec *d, struct toml_value *out);

static int grow(void **items, size_t *cap, size_t len, size_t size)
{
    if (len < *cap)
        return 0;
    size_t nc = *cap ? *cap * 2 : 4;
    void *n = realloc(*items, nc * size);
    if (!n)
        return -ENOMEM;
    *items = n;
    *cap = nc;
    return 0;
}

static int parse_array(struct dec *d, struct toml_value *out)
{
    size_t cap = 0;
    out->type = TOML_ARRAY;
    d->p++; /* '[' */
    for (;;) {
        dskip_ws(d);
        if (d->p >= d->end || *d->p == '#')
            return dfail(d, "array not closed on this line");
        if (*d->p == ']') {
            d->p++;
            return 0;
        }
        if (grow((void **)&out->u.array.items, &cap, out->u.array.len, sizeof(struct toml_value)) <
            0)
            return dfail(d, "out of memory"), -ENOMEM;
        struct toml_value *it = &out->u.array.items[out->u.array.len];
        memset(it, 0, sizeof(*it));
        out->u.array.len++;
        int r = parse_value(d, it);
        if (r < 0)
            return r;
        dskip_ws(d);
        if (d->p < d->end && *d->p == ',') {
            d->p++;
            continue;
        }
        if (d->p < d->end && *d->p == ']') {
            d->p++;
            return 0;
        }
        return dfail(d, d->p >= d->end || *d->p == '#' ? "array not closed on this line"
                                                       : "expected ',' or ']' in an array");
    }
}

static int parse_inline_table(struct dec *d, struct toml_value *out)
{
    size_t cap = 0;
    out->type = TOML_TABLE;
    d->p++; /* '{' */
    dskip_ws(d);
    if (d->p < d->end && *d->p == '}') {
        d->p++;
        return 0;
    }
    for (;;) {
        struct kpath k;
        int r = parse_key(d, &k);
        if (r < 0)
            return r;
        if (d->p >= d->end || *d->p != '=')
            return dfail(d, "expected '=' after a key in an inline table");
        d->p++;
        dskip_ws(d);
        if (grow((void **)&out->u.table.items, &cap, out->u.table.len, sizeof(struct toml_kv)) < 0)
            return dfail(d, "out of memory"), -ENOMEM;
        struct toml_kv *kv = &out->u.table.items[out->u.table.len];
        memset(kv, 0, sizeof(*kv));
        out->u.table.len++;
        kv->opaque = k.opaque;
        kv->key = strdup(k.opaque ? "" : k.s);
        if (!kv->key)
            return dfail(d, "out of memory"), -ENOMEM;
        r = parse_value(d, &kv->value);
        if (r < 0)
            return r;
        dskip_ws(d);
        if (d->p < d->end && *d->p == ',') {
            d->p++;
            dskip_ws(d);
            if (d->p < d->end && *d->p == '}') { /* trailing comma (TOML 1.1) */
                d->p++;
                return 0;
            }
            continue;
        }
        if (d->p < d->end && *d->p == '}') {
            d->p++;
            return 0;
        }
        return dfail(d, d->p >= d->end || *d->p == '#' ? "inline table not closed on this line"
                                                       : "expected ',' or '}' in an inline table");
    }
}

static int parse_value(struct dec *d, struct toml_value *out)
{
    dskip_ws(d);
    if (d->p >= d->end)
        return dfail(d, "missing value");
    char c = *d->p;
    if (c == '"' || c == '\'') {
        out->type = TOML_STRING;
        int r = parse_string(d, &out->u.str.ptr, &out->u.str.len);
        if (r < 0)
            out->type = TOML_NONE;
        return r;
    }
    if (c == '[' || c == '{') {
        if (d->depth >= TOML_MAX_DEPTH)
            return dfail(d, "nested more than %d levels deep", TOML_MAX_DEPTH);
        d->depth++;
        int r = c == '[' ? parse_array(d, out) : parse_inline_table(d, out);
        d->depth--;
        return r;
    }
    return parse_scalar(d, out);
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

int toml_decode_value(const char *text, size_t len, struct toml_value *out, char *what,
                      size_t what_size)
{
    struct dec d = {.p = text, .end = text + len, .what = what, .what_size = what_size};
    memset(out, 0, sizeof(*out));
    if (what && what_size)
        what[0] = '\0';
    int r = parse_value(&d, out);
    if (r == 0) {
        dskip_ws(&d);
        while (d.end > d.p && (d.end[-1] == '\r' || d.end[-1] == '\n'))
            d.end--;
        if (d.p < d.end && *d.p != '#') {
            char ex[48];
            excerpt(ex, sizeof(ex), d.p, (size_t)(d.end - d.p));
            r = dfail(&d, "unexpected \"%s\" after the value", ex);
        }
    }
    if (r < 0)
        toml_value_free(out);
    return r;
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

/* ---- the line reader that feeds inih ------------------------------------------------ */

enum scan_str { SS_NONE, SS_ML_BASIC, SS_ML_LITERAL };

/* State of a value that may continue over several lines. */
struct scan {
    enum scan_str str;
    size_t depth; /* open '[' and '{' outside strings */
};

static bool scan_open(const struct scan *s)
{
    return s->str != SS_NONE || s->depth > 0;
}

/* Advances the multi-line state over p[0..n) (one line, newline excluded). */
static void scan_line(struct scan *s, const char *p, size_t n)
{
    const char *end = p + n;
    while (p < end) {
        if (s->str != SS_NONE) {
            char q = s->str == SS_ML_BASIC ? '"' : '\'';
            if (s->str == SS_ML_BASIC && *p == '\\') {
                p += (end - p >= 2) ? 2 : 1;
                continue;
            }
            if (*p == q) {
                size_t run = 0;
                while (p + run < end && p[run] == q)
                    run++;
                if (run >= 3)
                    s->str = SS_NONE;
                p += run;
                continue;
            }
            p++;
            continue;
        }
        char c = *p;
        if (c == '#')
            return;
        if (c == '"' || c == '\'') {
            if (end - p >= 3 && p[1] == c && p[2] == c) {
                s->str = c == '"' ? SS_ML_BASIC : SS_ML_LITERAL;
                p += 3;
                continue;
            }
            /* single-line string: to its closing quote or the end of the line */
            p++;
            while (p < end && *p != c) {
                if (c == '"' && *p == '\\' && end - p >= 2)
                    p++;
                p++;
            }
            if (p < end)
                p++;
            continue;
        }
        if (c == '[' || c == '{')
            s->depth++;
        else if ((c == ']' || c == '}') && s->depth > 0)
            s->depth--;
        p++;
    }
}

enum line_kind { LK_BLANK, LK_HEADER, LK_KEYVAL, LK_JUNK, LK_CONT };

struct reader {
    const char *name;
    const char *buf;
    size_t len;
    size_t pos; /* start of the next source line */

    /* the line being fed to inih */
    const char *line; /* source bytes, newline included */
    size_t line_len;
    size_t off;   /* bytes of it already handed to inih */
    bool masked;  /* inih receives "\n" instead */
    int lineno;   /* its 1-based number */
    size_t start; /* offset after a BOM on line 1 */

    /* continuation state (multi-line construct) */
    struct scan sc;
    int cont_line;
    char cont_key[72];

    /* classification of the current line */
    enum line_kind kind;
    struct kpath key;    /* key path as written (KEYVAL) */
    size_t key_text_len; /* raw key text length from line + start + leading ws */
    const char *key_text;
    const char *value; /* after '=' (KEYVAL) */
    bool incomplete;

    /* current table */
    struct kpath section; /* root: empty */
    bool section_ok;      /* false after a bad header or inside [[...]] */

    struct toml_want *wants;
    size_t nwants;
    bool failed;
    int rc;
    struct evm_err *err;
};

static int rfail(struct reader *r, int line, const char *key, const char *fmt, ...)
    EVM_PRINTF(4, 5);
static int rfail(struct reader *r, int line, const char *key, const char *fmt, ...)
{
    char what[320];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    r->failed = true;
    r->rc = evm_errf(r->err, EINVAL, "%s:%d: %s: %s", r->name, line, key, what);
    return r->rc;
}

static bool path_is_prefix(const char *prefix, size_t plen, const char *path)
{
    return strlen(path) > plen && memcmp(path, prefix, plen) == 0 && path[plen] == '.';
}

/* A [[P]] header: wanted keys below P belong to array elements from now on. */
static void shadow_under(struct reader *r, const struct kpath *p)
{
    if (p->opaque)
        return;
    for (size_t i = 0; i < r->nwants; i++)
        if (path_is_prefix(p->s, p->len, r->wants[i].path) || strcmp(p->s, r->wants[i].path) == 0)
            r->wants[i].shadowed_ = true;
}

static void classify_header(struct reader *r, const char *p, const char *end)
{
    struct dec d = {.p = p + 1, .end = end};
    bool aot = d.p < end && *d.p == '[';
    if (aot)
        d.p++;
    struct kpath k;
    bool ok = parse_key(&d, &k) == 0;
    if (ok && d.p < end && *d.p == ']' && (!aot || (d.p + 1 < end && d.p[1] == ']'))) {
        d.p += aot ? 2 : 1;
        dskip_ws(&d);
        ok = d.p >= end || *d.p == '#';
    } else {
        ok = false;
    }
    r->kind = LK_HEADER;
    if (!ok) {
        r->section_ok = false;
        /* A broken header naming a wanted key's table would silently hide its keys. */
        struct dec d2 = {.p = p + (aot ? 2 : 1), .end = end};
        if (parse_key(&d2, &k) == 0 && !k.opaque) {
            for (size_t i = 0; i < r->nwants; i++) {
                if (strcmp(k.s, r->wants[i].path) == 0 ||
                    path_is_prefix(k.s, k.len, r->wants[i].path)) {
                    rfail(r, r->lineno, k.s, "not a valid table header");
                    return;
                }
            }
        }
        log_debug("%s:%d: not a valid table header; its keys are ignored", r->name, r->lineno);
        return;
    }
    r->section = k;
    r->section_ok = !aot;
    if (aot)
        shadow_under(r, &k);
}

/* Sets key_text/key_text_len to the raw key as inih would return it. */
static void classify_keyval(struct reader *r, const char *p, const char *end)
{
    struct dec d = {.p = p, .end = end};
    struct kpath k;
    if (parse_key(&d, &k) < 0 || d.p >= end || *d.p != '=') {
        r->kind = LK_JUNK;
        return;
    }
    const char *kend = d.p;
    while (kend > p && is_ws(kend[-1]))
        kend--;
    r->kind = LK_KEYVAL;
    r->key = k;
    r->key_text = p;
    r->key_text_len = (size_t)(kend - p);
    r->value = d.p + 1;
    memset(&r->sc, 0, sizeof(r->sc));
    scan_line(&r->sc, r->value, (size_t)(end - r->value));
    r->incomplete = scan_open(&r->sc);
    if (r->incomplete) {
        r->cont_line = r->lineno;
        excerpt(r->cont_key, sizeof(r->cont_key), p, r->key_text_len);
    }
}

/* A junk line in a wanted key's table that starts with a wanted key's name. */
static void check_junk(struct reader *r, const char *p, const char *end)
{
    if (!r->section_ok || r->section.opaque)
        return;
    const char *s = p;
    while (p < end && is_bare(*p))
        p++;
    struct kpath word = {.len = 0}, full;
    kpath_add(&word, s, (size_t)(p - s));
    if (word.opaque)
        return;
    kpath_join(&full, &r->section, &word);
    if (full.opaque)
        return;
    for (size_t i = 0; i < r->nwants; i++)
        if (!r->wants[i].shadowed_ && strcmp(full.s, r->wants[i].path) == 0) {
            rfail(r, r->lineno, full.s, "expected \"key = value\"");
            return;
        }
}

static void classify(struct reader *r)
{
    const char *p = r->line + r->start;
    const char *end = r->line + r->line_len;
    while (end > p && (end[-1] == '\n' || end[-1] == '\r'))
        end--;
    r->incomplete = false;
    r->masked = false;
    if (scan_open(&r->sc)) {
        /* a continuation line: inih must not see it */
        r->kind = LK_CONT;
        r->masked = true;
        scan_line(&r->sc, p, (size_t)(end - p));
        return;
    }
    while (p < end && is_ws(*p))
        p++;
    if (p >= end || *p == '#') {
        r->kind = LK_BLANK;
        return;
    }
    if (*p == '[') {
        classify_header(r, p, end);
        return;
    }
    classify_keyval(r, p, end);
    if (r->kind == LK_JUNK) {
        log_debug("%s:%d: not a \"key = value\" line; ignored", r->name, r->lineno);
        check_junk(r, p, end);
    }
}

static bool next_line(struct reader *r)
{
    if (r->pos >= r->len)
        return false;
    const char *s = r->buf + r->pos;
    const char *nl = memchr(s, '\n', r->len - r->pos);
    size_t n = nl ? (size_t)(nl - s) + 1 : r->len - r->pos;
    r->pos += n;
    r->line = s;
    r->line_len = n;
    r->off = 0;
    r->lineno++;
    r->start = 0;
    if (r->lineno == 1 && n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0)
        r->start = 3; /* inih skips it too */
    classify(r);
    return true;
}

/* fgets-like reader for ini_parse_stream: one source line (or the rest of it) per call. */
static char *ini_reader_fn(char *str, int num, void *stream)
{
    struct reader *r = stream;
    if (r->failed || num < 2)
        return NULL;
    const char *src;
    size_t left;
    for (;;) {
        src = r->masked ? "\n" : r->line;
        size_t total = r->masked ? 1 : r->line_len;
        if (r->line && r->off < total) {
            left = total - r->off;
            break;
        }
        if (!next_line(r) || r->failed)
            return NULL;
    }
    size_t n = left < (size_t)num - 1 ? left : (size_t)num - 1;
    memcpy(str, src + r->off, n);
    /* A NUL would end the line early for inih (and shift its line numbers); 0x7f is
     * invalid everywhere in TOML a value could be, so the line stays invalid. */
    for (size_t i = 0; i < n; i++)
        if (str[i] == '\0')
            str[i] = 0x7f;
    str[n] = '\0';
    r->off += n;
    return str;
}

/* ---- wanted-key matching ------------------------------------------------------------ */

static void run_check(struct reader *r, struct toml_want *w)
{
    char what[200] = "invalid value";
    if (w->check && w->check(&w->value, w->check_arg, what, sizeof(what)) < 0)
        rfail(r, w->line, w->path, "%s", what);
}

static void record(struct reader *r, size_t i, const char *text, size_t len, bool incomplete)
{
    struct toml_want *w = &r->wants[i];
    if (w->line) {
        rfail(r, r->lineno, w->path, "duplicate key (first set on line %d, again on line %d)",
              w->line, r->lineno);
        return;
    }
    if (incomplete) {
        rfail(r, r->lineno, w->path,
              "the value continues on the next lines; only single-line values are supported "
              "for this key");
        return;
    }
    char what[200];
    int rc = toml_decode_value(text, len, &w->value, what, sizeof(what));
    if (rc == -ENOMEM) {
        r->failed = true;
        r->rc = evm_errf(r->err, ENOMEM, "out of memory");
        return;
    }
    if (rc < 0) {
        rfail(r, r->lineno, w->path, "%s", what);
        return;
    }
    w->line = r->lineno;
    run_check(r, w);
}

static void match_value(struct reader *r, const struct kpath *full, const struct toml_value *v);

/* full is a proper prefix of a wanted path: v must be a table; match its leaves. */
static void match_table(struct reader *r, const struct kpath *full, const struct toml_value *v)
{
    if (v->type != TOML_TABLE) {
        rfail(r, r->lineno, full->s, "expected a table, got %s", toml_type_name(v->type));
        return;
    }
    for (size_t j = 0; j < v->u.table.len && !r->failed; j++) {
        const struct toml_kv *kv = &v->u.table.items[j];
        struct kpath sub = {.len = 0, .opaque = kv->opaque}, path;
        if (!kv->opaque) {
            /* the inline key may be dotted: copy it as already-joined parts */
            size_t n = strlen(kv->key);
            if (n >= sizeof(sub.s)) {
                sub.opaque = true;
            } else {
                memcpy(sub.s, kv->key, n + 1);
                sub.len = n;
            }
        }
        kpath_join(&path, full, &sub);
        match_value(r, &path, &kv->value);
    }
}

static void match_value(struct reader *r, const struct kpath *full, const struct toml_value *v)
{
    if (full->opaque)
        return;
    for (size_t i = 0; i < r->nwants && !r->failed; i++) {
        struct toml_want *w = &r->wants[i];
        if (w->shadowed_)
            continue;
        if (strcmp(full->s, w->path) == 0) {
            if (w->line) {
                rfail(r, r->lineno, w->path,
                      "duplicate key (first set on line %d, again on line %d)", w->line, r->lineno);
                return;
            }
            toml_value_free(&w->value);
            if (v->type == TOML_STRING) {
                w->value.type = TOML_STRING;
                w->value.u.str.ptr = strdup(v->u.str.ptr);
                w->value.u.str.len = v->u.str.len;
                if (!w->value.u.str.ptr) {
                    w->value.type = TOML_NONE;
                    r->failed = true;
                    r->rc = evm_errf(r->err, ENOMEM, "out of memory");
                    return;
                }
            } else if (v->type == TOML_INTEGER || v->type == TOML_BOOLEAN) {
                w->value = *v;
            } else {
                /* arrays / tables are never what a wanted key holds: keep only the type */
                w->value.type = v->type;
            }
            w->line = r->lineno;
            run_check(r, w);
        } else if (path_is_prefix(full->s, full->len, w->path)) {
            match_table(r, full, v);
            return;
        }
    }
}

static int ini_handler_fn(void *user, const char *section, const char *name, const char *value,
                          int lineno)
{
    struct reader *r = user;
    (void)section; /* tracked by the reader itself (see toml.h) */
    if (r->failed)
        return 1;
    if (lineno != r->lineno) {
        r->failed = true;
        r->rc = evm_errf(r->err, EIO, "%s: internal error: line tracking out of step (%d/%d)",
                         r->name, lineno, r->lineno);
        return 0;
    }
    if (r->kind != LK_KEYVAL || !r->section_ok)
        return 1;
    struct kpath full;
    kpath_join(&full, &r->section, &r->key);
    if (full.opaque)
        return 1;

    /* inih's split is used when it agrees with the TOML key (it splits at the first '='
     * or ':', which differs only for quoted keys holding one of those). */
    const char *text = value;
    size_t len = strlen(value);
    if (strlen(name) != r->key_text_len || memcmp(name, r->key_text, r->key_text_len) != 0) {
        const char *end = r->line + r->line_len;
        text = r->value;
        while (text < end && (is_ws(*text)))
            text++;
        while (end > text && (is_ws(end[-1]) || end[-1] == '\r' || end[-1] == '\n'))
            end--;
        len = (size_t)(end - text);
    }

    for (size_t i = 0; i < r->nwants && !r->failed; i++) {
        struct toml_want *w = &r->wants[i];
        if (w->shadowed_)
            continue;
        if (strcmp(full.s, w->path) == 0) {
            record(r, i, text, len, r->incomplete);
        } else if (path_is_prefix(full.s, full.len, w->path)) {
            /* e.g. linux = { cpus = 2 } under [vm] */
            if (r->incomplete) {
                rfail(r, lineno, full.s,
                      "the value continues on the next lines; only single-line values are "
                      "supported for this key");
                break;
            }
            struct toml_value v;
            char what[200];
            int rc = toml_decode_value(text, len, &v, what, sizeof(what));
            if (rc == -ENOMEM) {
                r->failed = true;
                r->rc = evm_errf(r->err, ENOMEM, "out of memory");
            } else if (rc < 0) {
                rfail(r, lineno, full.s, "%s", what);
            } else {
                match_table(r, &full, &v);
                toml_value_free(&v);
            }
            break;
        }
    }
    return 1;
}

int toml_read(const char *name, const char *bytes, size_t len, struct toml_want *wants, size_t n,
              struct evm_err *err)
{
    for (size_t i = 0; i < n; i++) {
        memset(&wants[i].value, 0, sizeof(wants[i].value));
        wants[i].line = 0;
        wants[i].shadowed_ = false;
    }
    if (len > TOML_MAX_BYTES)
        return evm_errf(err, EFBIG, "%s: %zu bytes, larger than the %u-byte limit", name, len,
                        TOML_MAX_BYTES);
    struct reader *r = calloc(1, sizeof(*r));
    if (!r)
        return evm_errf(err, ENOMEM, "out of memory");
    r->name = name;
    r->buf = bytes;
    r->len = len;
    r->section_ok = true;
    r->wants = wants;
    r->nwants = n;
    r->err = err;

    int rc = ini_parse_stream(ini_reader_fn, r, ini_handler_fn, r);
    if (r->failed) {
        rc = r->rc;
    } else if (rc == -2) {
        rc = evm_errf(err, ENOMEM, "out of memory");
    } else {
        if (rc > 0)
            log_debug("%s:%d: a line inih could not parse was ignored", name, rc);
        rc = 0;
        if (scan_open(&r->sc))
            rc = evm_errf(err, EINVAL,
                          "%s:%d: %s: multi-line value is never closed (it runs to the end "
                          "of the file)",
                          name, r->cont_line, r->cont_key);
    }
    free(r);
    return rc;
}

void toml_wants_free(struct toml_want *wants, size_t n)
{
    for (size_t i = 0; i < n; i++)
        toml_value_free(&wants[i].value);
}
