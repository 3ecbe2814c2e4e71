/* tomllex.c — the lexical layer of the TOML reader (see tomllex.h): bytes TOML never
 * allows, whitespace, comments, keys, strings and scalar values, checked the way the
 * daemon's parser (BurntSushi/toml v1.6.0, TOML 1.1) checks them and decoded on request. */
#include "config/tomllex.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strutil.h"

void tl_init(struct tl_lex *lx, const char *text, size_t len, int line)
{
    memset(lx, 0, sizeof(*lx));
    lx->cur.p = text;
    lx->cur.end = text + len;
    lx->cur.line_start = text;
    lx->cur.line = line;
}

int tl_fail(struct tl_lex *lx, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(lx->err.what, sizeof(lx->err.what), fmt, ap);
    va_end(ap);
    lx->err.code = code;
    lx->err.line = lx->cur.line;
    lx->err.eof = false;
    return -code;
}

/* The text ended inside a construct opened on line `line`. */
static int fail_eof(struct tl_lex *lx, int line, const char *what)
{
    int r = tl_fail(lx, EINVAL, "%s", what);
    lx->err.line = line;
    lx->err.eof = true;
    return r;
}

static int fail_nomem(struct tl_lex *lx)
{
    return tl_fail(lx, ENOMEM, "out of memory");
}

void tl_excerpt(char *out, size_t size, const char *s, size_t n)
{
    str_excerpt(out, size, s, n, TOML_EXCERPT_MAX);
}

bool tl_value_end(char c)
{
    return tl_is_ws(c) || c == ',' || c == ']' || c == '}' || c == '#' || c == '\r' || c == '\n';
}

void tl_word(char *out, size_t size, const char *p, const char *end)
{
    const char *s = p;
    while (p < end && !tl_value_end(*p))
        p++;
    tl_excerpt(out, size, s, (size_t)(p - s));
}

/* ---- bytes --------------------------------------------------------------------------- */

size_t tl_char_len(const char *p, const char *end)
{
    unsigned char c = (unsigned char)*p;
    if (c < 0x80)
        return (c == '\t' || (c >= 0x20 && c != 0x7f)) ? 1 : 0;
    return str_utf8_seq(p, (size_t)(end - p));
}

int tl_check_byte(struct tl_lex *lx, const char *p)
{
    unsigned char c = (unsigned char)*p;
    size_t col = (size_t)(p - lx->cur.line_start) + 1;
    if (c == 0)
        return tl_fail(lx, EINVAL, "a NUL byte (0x00) at column %zu: not allowed in TOML", col);
    if (c == '\r' && !(p + 1 < lx->cur.end && p[1] == '\n'))
        return tl_fail(lx, EINVAL,
                       "a carriage return (0x0d) not followed by a line feed at column %zu: not "
                       "allowed in TOML",
                       col);
    if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f)
        return tl_fail(lx, EINVAL, "control character 0x%02x at column %zu: not allowed in TOML", c,
                       col);
    if (c >= 0x80 && str_utf8_seq(p, (size_t)(lx->cur.end - p)) == 0)
        return tl_fail(lx, EINVAL, "invalid UTF-8 (byte 0x%02x) at column %zu", c, col);
    return 0;
}

/* ---- whitespace, newlines, comments -------------------------------------------------- */

void tl_skip_ws(struct tl_lex *lx)
{
    while (lx->cur.p < lx->cur.end && tl_is_ws(*lx->cur.p))
        lx->cur.p++;
}

static bool at_newline(const struct tl_lex *lx)
{
    const char *p = lx->cur.p;
    return p < lx->cur.end && (*p == '\n' || (*p == '\r' && p + 1 < lx->cur.end && p[1] == '\n'));
}

bool tl_newline(struct tl_lex *lx)
{
    if (!at_newline(lx))
        return false;
    lx->cur.p += *lx->cur.p == '\r' ? 2 : 1;
    lx->cur.line++;
    lx->cur.line_start = lx->cur.p;
    return true;
}

int tl_comment(struct tl_lex *lx)
{
    lx->cur.p++; /* '#' */
    while (lx->cur.p < lx->cur.end && !at_newline(lx)) {
        size_t n = tl_char_len(lx->cur.p, lx->cur.end);
        if (n == 0)
            return tl_check_byte(lx, lx->cur.p);
        lx->cur.p += n;
    }
    return 0;
}

int tl_skip_wcn(struct tl_lex *lx)
{
    for (;;) {
        tl_skip_ws(lx);
        if (tl_peek(lx) == '#') {
            int r = tl_comment(lx);
            if (r < 0)
                return r;
        } else if (!tl_newline(lx)) {
            return 0;
        }
    }
}

/* The rest of the current line, as an excerpt. */
static void rest_of_line(char *out, size_t size, const struct tl_lex *lx)
{
    const char *p = lx->cur.p, *e = p;
    while (e < lx->cur.end && *e != '\n')
        e++;
    if (e > p && e[-1] == '\r')
        e--;
    tl_excerpt(out, size, p, (size_t)(e - p));
}

int tl_line_end(struct tl_lex *lx, const char *what)
{
    tl_skip_ws(lx);
    if (tl_peek(lx) == '#') {
        int r = tl_comment(lx);
        if (r < 0)
            return r;
    }
    if (tl_at_end(lx) || tl_newline(lx))
        return 0;
    int r = tl_check_byte(lx, lx->cur.p);
    if (r < 0)
        return r;
    char ex[48];
    rest_of_line(ex, sizeof(ex), lx);
    return tl_fail(lx, EINVAL, "unexpected \"%s\" after %s", ex, what);
}

/* ---- buffers ------------------------------------------------------------------------- */

static int buf_add(struct tl_lex *lx, struct tl_buf *b, const char *s, size_t n)
{
    if (!b)
        return 0;
    if (b->len + n + 1 > b->cap) {
        size_t nc = b->cap ? b->cap : 32;
        while (nc < b->len + n + 1)
            nc *= 2;
        char *ns = realloc(b->s, nc);
        if (!ns)
            return fail_nomem(lx);
        b->s = ns;
        b->cap = nc;
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
    return 0;
}

void tl_buf_free(struct tl_buf *b)
{
    free(b->s);
    memset(b, 0, sizeof(*b));
}

/* ---- strings ------------------------------------------------------------------------- */

static size_t put_utf8(char *o, unsigned long cp)
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

/* The character a one-letter escape stands for, or -1 (TOML 1.1 adds \e). */
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
    case 'e':
        return 0x1b;
    case '"':
        return '"';
    case '\\':
        return '\\';
    default:
        return -1;
    }
}

static int bad_escape(struct tl_lex *lx, char e)
{
    unsigned char c = (unsigned char)e;
    return tl_fail(lx, EINVAL, "invalid escape sequence \"\\%c\" in a string",
                   (c >= 0x20 && c < 0x7f) ? e : '?');
}

/* \xHH, \uHHHH or \UHHHHHHHH: the cursor is at the letter. */
static int hex_escape(struct tl_lex *lx, char e, struct tl_buf *out)
{
    size_t digits = e == 'x' ? 2 : e == 'u' ? 4 : 8;
    const char *s = lx->cur.p + 1;
    if ((size_t)(lx->cur.end - s) < digits)
        return bad_escape(lx, e);
    unsigned long cp = 0;
    for (size_t i = 0; i < digits; i++) {
        int h = hex_digit_value(s[i]);
        if (h < 0)
            return bad_escape(lx, e);
        cp = (cp << 4) | (unsigned)h;
    }
    if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return tl_fail(lx, EINVAL, "\\%c escape is not a Unicode scalar value", e);
    lx->cur.p = s + digits;
    char o[4];
    return buf_add(lx, out, o, put_utf8(o, cp));
}

/* An escape: the cursor is at the backslash. */
static int escape(struct tl_lex *lx, struct tl_buf *out)
{
    if (lx->cur.end - lx->cur.p < 2)
        return tl_fail(lx, EINVAL, "unterminated string");
    lx->cur.p++;
    char e = *lx->cur.p;
    if (e == 'x' || e == 'u' || e == 'U')
        return hex_escape(lx, e, out);
    int c = simple_escape(e);
    if (c < 0) {
        int r = tl_check_byte(lx, lx->cur.p);
        return r < 0 ? r : bad_escape(lx, e);
    }
    lx->cur.p++;
    char ch = (char)c;
    return buf_add(lx, out, &ch, 1);
}

/* One literal character of a string at the cursor. */
static int string_char(struct tl_lex *lx, struct tl_buf *out)
{
    size_t n = tl_char_len(lx->cur.p, lx->cur.end);
    if (n == 0)
        return tl_check_byte(lx, lx->cur.p);
    int r = buf_add(lx, out, lx->cur.p, n);
    lx->cur.p += n;
    return r;
}

/* A one-line string: the cursor is at its quote q. */
static int string_single(struct tl_lex *lx, char q, struct tl_buf *out)
{
    lx->cur.p++;
    for (;;) {
        if (tl_at_end(lx) || at_newline(lx))
            return tl_fail(lx, EINVAL, "unterminated string");
        char c = *lx->cur.p;
        int r;
        if (c == q) {
            lx->cur.p++;
            return 0;
        }
        r = (q == '"' && c == '\\') ? escape(lx, out) : string_char(lx, out);
        if (r < 0)
            return r;
    }
}

/* A backslash in a multi-line basic string that ends its line (only whitespace before the
 * newline): skips it, the newline and all whitespace and newlines after. */
static bool line_ending_backslash(struct tl_lex *lx)
{
    const char *s = lx->cur.p + 1;
    while (s < lx->cur.end && tl_is_ws(*s))
        s++;
    if (!(s < lx->cur.end && (*s == '\n' || (*s == '\r' && s + 1 < lx->cur.end && s[1] == '\n'))))
        return false;
    lx->cur.p = s;
    for (;;) {
        if (tl_newline(lx))
            continue;
        if (lx->cur.p < lx->cur.end && tl_is_ws(*lx->cur.p)) {
            lx->cur.p++;
            continue;
        }
        return true;
    }
}

/* A run of quotes q inside a multi-line string: up to two belong to the content before
 * the closing three (*closed), more than five in a row are an error. */
static int ml_quotes(struct tl_lex *lx, char q, struct tl_buf *out, bool *closed)
{
    size_t run = 0;
    while (lx->cur.p + run < lx->cur.end && lx->cur.p[run] == q)
        run++;
    if (run > 5)
        return tl_fail(lx, EINVAL, "too many quotes closing a multi-line string");
    *closed = run >= 3;
    size_t keep = *closed ? run - 3 : run;
    lx->cur.p += run;
    return buf_add(lx, out, lx->cur.p - run, keep);
}

/* A multi-line string: the cursor is at its three quotes q. */
static int string_multi(struct tl_lex *lx, char q, struct tl_buf *out)
{
    int line = lx->cur.line;
    lx->cur.p += 3;
    tl_newline(lx); /* a newline right after the delimiter is trimmed */
    for (;;) {
        if (tl_at_end(lx))
            return fail_eof(lx, line,
                            "multi-line string is never closed (it runs to the end of "
                            "the file)");
        const char *s = lx->cur.p;
        int r = 0;
        bool closed = false;
        if (*s == q)
            r = ml_quotes(lx, q, out, &closed);
        else if (tl_newline(lx))
            r = buf_add(lx, out, s, (size_t)(lx->cur.p - s));
        else if (q == '"' && *s == '\\')
            r = line_ending_backslash(lx) ? 0 : escape(lx, out);
        else
            r = string_char(lx, out);
        if (r < 0 || closed)
            return r;
    }
}

static bool at_triple(const struct tl_lex *lx, char q)
{
    const char *p = lx->cur.p;
    return lx->cur.end - p >= 3 && p[0] == q && p[1] == q && p[2] == q;
}

int tl_string(struct tl_lex *lx, struct tl_buf *out)
{
    char q = *lx->cur.p;
    return at_triple(lx, q) ? string_multi(lx, q, out) : string_single(lx, q, out);
}

/* ---- keys ---------------------------------------------------------------------------- */

static int key_add_part(struct tl_lex *lx, struct tl_key *k, size_t start)
{
    if (k->n == k->cap) {
        size_t nc = k->cap ? k->cap * 2 : 8;
        size_t *no = realloc(k->off, nc * sizeof(*no));
        if (!no)
            return fail_nomem(lx);
        k->off = no;
        size_t *nl = realloc(k->len, nc * sizeof(*nl));
        if (!nl)
            return fail_nomem(lx);
        k->len = nl;
        k->cap = nc;
    }
    k->off[k->n] = start;
    k->len[k->n] = k->names.len - start;
    k->n++;
    return 0;
}

/* One part of a key at the cursor. */
static int key_part(struct tl_lex *lx, struct tl_key *k)
{
    char c = tl_peek(lx);
    size_t start = k->names.len;
    int r;
    if (c == '"' || c == '\'') {
        if (at_triple(lx, c))
            return tl_fail(lx, EINVAL, "a multi-line string cannot be a key");
        r = string_single(lx, c, &k->names);
    } else if (tl_is_bare(c)) {
        const char *s = lx->cur.p;
        while (lx->cur.p < lx->cur.end && tl_is_bare(*lx->cur.p))
            lx->cur.p++;
        r = buf_add(lx, &k->names, s, (size_t)(lx->cur.p - s));
    } else if (tl_at_end(lx) || at_newline(lx) || c == '#' || c == '=' || c == ']') {
        return tl_fail(lx, EINVAL, "missing key");
    } else {
        r = tl_check_byte(lx, lx->cur.p);
        if (r == 0)
            r = tl_fail(lx, EINVAL, "invalid key");
    }
    if (r < 0)
        return r;
    /* buf_add only allocates when there is something to add: keep an empty part valid */
    if (!k->names.s && buf_add(lx, &k->names, "", 0) < 0)
        return -ENOMEM;
    return key_add_part(lx, k, start);
}

int tl_key(struct tl_lex *lx, struct tl_key *k)
{
    k->n = 0;
    k->names.len = 0;
    for (;;) {
        tl_skip_ws(lx);
        int r = key_part(lx, k);
        if (r < 0)
            return r;
        tl_skip_ws(lx);
        if (tl_peek(lx) != '.')
            return 0;
        lx->cur.p++;
    }
}

void tl_key_free(struct tl_key *k)
{
    tl_buf_free(&k->names);
    free(k->off);
    free(k->len);
    memset(k, 0, sizeof(*k));
}

/* ---- numbers ------------------------------------------------------------------------- */

enum numtok { NT_INT, NT_FLOAT, NT_DATETIME };

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool is_hex(char c)
{
    return hex_digit_value(c) >= 0;
}

static bool is_base_digit(char c, char prefix)
{
    if (prefix == 'x')
        return is_hex(c);
    if (prefix == 'o')
        return c >= '0' && c <= '7';
    return c == '0' || c == '1';
}

static bool is_float_char(char c)
{
    return is_digit(c) || c == '_' || c == '.' || c == '+' || c == '-' || c == 'e' || c == 'E';
}

static bool is_dt_char(char c)
{
    return is_digit(c) || c == '-' || c == ':' || c == 'T' || c == 't' || c == ' ' || c == '.' ||
           c == 'Z' || c == 'z' || c == '+';
}

static const char *skip_while(const char *p, const char *end, bool (*pred)(char))
{
    while (p < end && pred(*p))
        p++;
    return p;
}

static bool is_digit_or_us(char c)
{
    return is_digit(c) || c == '_';
}

/* From p (just after the leading digits): where the token goes on, as the daemon's lexer
 * decides it (a '-' or ':' makes a date/time, '.', 'e' or 'E' a float). */
static enum numtok lex_number_tail(const char *p, const char *end, bool underscore,
                                   const char **tok_end)
{
    if (!underscore && p < end && (*p == '-' || *p == ':')) {
        *tok_end = skip_while(p, end, is_dt_char);
        return NT_DATETIME;
    }
    p = skip_while(p, end, is_digit_or_us);
    if (p < end && (*p == '.' || *p == 'e' || *p == 'E')) {
        *tok_end = skip_while(p, end, is_float_char);
        return NT_FLOAT;
    }
    *tok_end = p;
    return NT_INT;
}

/* The extent of a number, date or time at s (a digit or a sign). 0, or -EINVAL when the
 * daemon's lexer refuses it already (a sign before 0x, a prefix without digits...). */
static int lex_number(struct tl_lex *lx, const char *s, enum numtok *kind, const char **tok_end)
{
    const char *p = s, *end = lx->cur.end;
    char w[48];
    tl_word(w, sizeof(w), s, end);
    if (*p == '+' || *p == '-') {
        p++;
        if (end - p >= 3 && (memcmp(p, "inf", 3) == 0 || memcmp(p, "nan", 3) == 0)) {
            *kind = NT_FLOAT;
            *tok_end = p + 3;
            return 0;
        }
        if (p < end && *p == '0' && p + 1 < end && (p[1] == 'x' || p[1] == 'o' || p[1] == 'b'))
            return tl_fail(lx, EINVAL, "invalid integer \"%s\" (a sign before 0%c)", w, p[1]);
        if (p >= end || !is_digit(*p))
            return tl_fail(lx, EINVAL, "invalid value \"%s\"", w);
        *kind = lex_number_tail(p + 1, end, true, tok_end);
        return 0;
    }
    if (*p == '0' && p + 1 < end && (p[1] == 'x' || p[1] == 'o' || p[1] == 'b')) {
        char prefix = p[1];
        p += 2;
        if (p >= end || !is_base_digit(*p, prefix))
            return tl_fail(lx, EINVAL, "invalid integer \"%s\"", w);
        while (p < end && (is_base_digit(*p, prefix) || *p == '_'))
            p++;
        *kind = NT_INT;
        *tok_end = p;
        return 0;
    }
    if (*p == '0' && p + 1 < end && p[1] == '_') {
        *kind = lex_number_tail(p + 1, end, true, tok_end);
        return 0;
    }
    p = skip_while(p, end, is_digit);
    *kind = lex_number_tail(p, end, s[0] == '0' && p == s + 1, tok_end);
    return 0;
}

/* Each '_' between two digits (the daemon accepts a '_' after any hex digit). */
static bool underscores_ok(const char *s, const char *e)
{
    bool accept = false;
    for (; s < e; s++) {
        if (*s == '_' && !accept)
            return false;
        accept = is_hex(*s);
    }
    return accept;
}

static bool leading_zero(const char *s, const char *e)
{
    if (*s == '+' || *s == '-')
        return e - s > 2 && s[1] == '0';
    return e - s > 1 && s[0] == '0' && s[1] != 'x' && s[1] != 'o' && s[1] != 'b';
}

/* Accumulates digits (underscores skipped) in base; false on overflow past limit. */
static bool accumulate(const char *s, const char *e, unsigned base, uint64_t limit, uint64_t *v)
{
    uint64_t acc = 0;
    for (; s < e; s++) {
        if (*s == '_')
            continue;
        unsigned h = (unsigned)hex_digit_value(*s);
        if (acc > (limit - h) / base)
            return false;
        acc = acc * base + h;
    }
    *v = acc;
    return true;
}

static int int_token(struct tl_lex *lx, const char *s, const char *e, struct toml_value *out)
{
    char w[48];
    tl_excerpt(w, sizeof(w), s, (size_t)(e - s));
    if (!underscores_ok(s, e))
        return tl_fail(lx, EINVAL, "invalid integer \"%s\"", w);
    if (leading_zero(s, e))
        return tl_fail(lx, EINVAL, "invalid integer \"%s\" (leading zero)", w);
    bool neg = *s == '-';
    const char *d = (*s == '+' || *s == '-') ? s + 1 : s;
    unsigned base = 10;
    if (e - d > 2 && d[0] == '0' && (d[1] == 'x' || d[1] == 'o' || d[1] == 'b')) {
        base = d[1] == 'x' ? 16 : d[1] == 'o' ? 8 : 2;
        d += 2;
    }
    uint64_t v;
    if (!accumulate(d, e, base, neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX, &v))
        return tl_fail(lx, EINVAL, "integer \"%s\" out of range", w);
    if (out) {
        out->type = TOML_INTEGER;
        out->u.integer = neg ? (int64_t)(0 - v) : (int64_t)v;
    }
    return 0;
}

/* digit ( '_'? digit )* at *p; false when there is none. */
static bool digit_part(const char **p, const char *e)
{
    const char *s = *p;
    if (s >= e || !is_digit(*s))
        return false;
    while (s < e && (is_digit(*s) || (*s == '_' && s + 1 < e && is_digit(s[1]))))
        s++;
    *p = s;
    return true;
}

/* A float token [s, e): sign? int ( '.' digits )? ( [eE] sign? digits )?, with at least a
 * fraction or an exponent, no leading zero; as the daemon's ParseFloat checks. */
static bool float_syntax(const char *s, const char *e, bool *lead0)
{
    const char *p = s;
    if (*p == '+' || *p == '-')
        p++;
    const char *ip = p;
    if (!digit_part(&p, e))
        return false;
    *lead0 = *ip == '0' && p - ip > 1;
    bool frac = false, exp = false;
    if (p < e && *p == '.') {
        p++;
        if (!digit_part(&p, e))
            return false;
        frac = true;
    }
    if (p < e && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < e && (*p == '+' || *p == '-'))
            p++;
        if (!digit_part(&p, e))
            return false;
        exp = true;
    }
    return p == e && (frac || exp) && !*lead0;
}

static bool special_float(const char *s, const char *e, double *v)
{
    const char *p = (*s == '+' || *s == '-') ? s + 1 : s;
    if (e - p != 3)
        return false;
    if (memcmp(p, "inf", 3) == 0)
        *v = *s == '-' ? -HUGE_VAL : HUGE_VAL;
    else if (memcmp(p, "nan", 3) == 0)
        *v = *s == '-' ? -NAN : NAN;
    else
        return false;
    return true;
}

static int float_token(struct tl_lex *lx, const char *s, const char *e, struct toml_value *out)
{
    char w[48];
    tl_excerpt(w, sizeof(w), s, (size_t)(e - s));
    double v;
    if (!special_float(s, e, &v)) {
        bool lead0 = false;
        if (!float_syntax(s, e, &lead0))
            return tl_fail(lx, EINVAL, "invalid float \"%s\"%s", w, lead0 ? " (leading zero)" : "");
        char *digits = malloc((size_t)(e - s) + 1);
        if (!digits)
            return fail_nomem(lx);
        size_t n = 0;
        for (const char *p = s; p < e; p++)
            if (*p != '_')
                digits[n++] = *p;
        digits[n] = '\0';
        v = strtod(digits, NULL);
        free(digits);
        if (isinf(v))
            return tl_fail(lx, EINVAL, "float \"%s\" out of range", w);
    }
    if (out) {
        out->type = TOML_FLOAT;
        out->u.floating = v;
    }
    return 0;
}

/* ---- dates and times ----------------------------------------------------------------- */

static bool digits_at(const char *s, size_t n, size_t at, size_t count, int *v)
{
    if (at + count > n)
        return false;
    int acc = 0;
    for (size_t i = 0; i < count; i++) {
        if (!is_digit(s[at + i]))
            return false;
        acc = acc * 10 + (s[at + i] - '0');
    }
    *v = acc;
    return true;
}

static int days_in(int month, int year)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    return month == 2 && leap ? 29 : days[month - 1];
}

/* YYYY-MM-DD at s[0..n): its length, or 0. */
static size_t dt_date(const char *s, size_t n)
{
    int y, m, d;
    if (!digits_at(s, n, 0, 4, &y) || n < 10 || s[4] != '-' || !digits_at(s, n, 5, 2, &m) ||
        s[7] != '-' || !digits_at(s, n, 8, 2, &d))
        return 0;
    if (m < 1 || m > 12 || d < 1 || d > days_in(m, y))
        return 0;
    return 10;
}

/* HH:MM[:SS[.fraction]] at s[0..n) (seconds optional in TOML 1.1): its length, or 0. */
static size_t dt_time(const char *s, size_t n)
{
    int h, m, sec;
    if (!digits_at(s, n, 0, 2, &h) || n < 5 || s[2] != ':' || !digits_at(s, n, 3, 2, &m))
        return 0;
    if (h > 23 || m > 59)
        return 0;
    if (n == 5 || s[5] != ':')
        return 5;
    if (!digits_at(s, n, 6, 2, &sec) || sec > 59)
        return 0;
    size_t i = 8;
    if (i < n && s[i] == '.') {
        i++;
        if (i >= n || !is_digit(s[i]))
            return 0;
        while (i < n && is_digit(s[i]))
            i++;
    }
    return i;
}

/* Z or +HH:MM / -HH:MM at s[0..n): its length, or 0. The daemon's Go accepts offsets up
 * to 24 hours and 60 minutes. */
static size_t dt_offset(const char *s, size_t n)
{
    int h, m;
    if (n >= 1 && s[0] == 'Z')
        return 1;
    if (n < 6 || (s[0] != '+' && s[0] != '-') || !digits_at(s, n, 1, 2, &h) || s[3] != ':' ||
        !digits_at(s, n, 4, 2, &m))
        return 0;
    return (h <= 24 && m <= 60) ? 6 : 0;
}

/* A date/time token, after 't'/' ' became 'T' and 'z' 'Z' (as the daemon does). */
static bool dt_valid(const char *s, size_t n)
{
    size_t d = dt_date(s, n);
    if (d == 0) {
        size_t t = dt_time(s, n);
        return t != 0 && t == n;
    }
    if (d == n)
        return true;
    if (s[d] != 'T')
        return false;
    size_t t = dt_time(s + d + 1, n - d - 1);
    if (t == 0)
        return false;
    size_t used = d + 1 + t;
    return used == n || used + dt_offset(s + used, n - used) == n;
}

static int datetime_token(struct tl_lex *lx, const char *s, const char *e, struct toml_value *out)
{
    while (e > s && e[-1] == ' ')
        e--;
    size_t n = (size_t)(e - s);
    char *norm = malloc(n + 1);
    if (!norm)
        return fail_nomem(lx);
    for (size_t i = 0; i < n; i++)
        norm[i] = (s[i] == 't' || s[i] == ' ') ? 'T' : s[i] == 'z' ? 'Z' : s[i];
    norm[n] = '\0';
    bool ok = dt_valid(norm, n);
    if (!ok) {
        free(norm);
        char w[48];
        tl_excerpt(w, sizeof(w), s, n);
        return tl_fail(lx, EINVAL, "invalid date/time \"%s\"", w);
    }
    if (!out) {
        free(norm);
        return 0;
    }
    memcpy(norm, s, n); /* the value keeps the text as written */
    out->type = TOML_DATETIME;
    out->u.str.ptr = norm;
    out->u.str.len = n;
    return 0;
}

/* ---- scalars ------------------------------------------------------------------------- */

static const char *numtok_name(enum numtok k)
{
    return k == NT_INT ? "integer" : k == NT_FLOAT ? "float" : "date/time";
}

static int number(struct tl_lex *lx, struct toml_value *out, enum toml_type *type)
{
    const char *s = lx->cur.p, *e = s;
    enum numtok kind = NT_INT;
    int r = lex_number(lx, s, &kind, &e);
    if (r < 0)
        return r;
    if (e < lx->cur.end && !tl_value_end(*e)) {
        if ((r = tl_check_byte(lx, e)) < 0)
            return r;
        char w[48];
        tl_word(w, sizeof(w), s, lx->cur.end);
        return tl_fail(lx, EINVAL, "invalid %s \"%s\"", numtok_name(kind), w);
    }
    if (kind == NT_INT)
        r = int_token(lx, s, e, out);
    else if (kind == NT_FLOAT)
        r = float_token(lx, s, e, out);
    else
        r = datetime_token(lx, s, e, out);
    *type = kind == NT_INT ? TOML_INTEGER : kind == NT_FLOAT ? TOML_FLOAT : TOML_DATETIME;
    lx->cur.p = e;
    return r;
}

/* true, false, inf, nan: a word at the cursor. */
static int word(struct tl_lex *lx, struct toml_value *out, enum toml_type *type)
{
    const char *s = lx->cur.p, *e = s;
    while (e < lx->cur.end && !tl_value_end(*e))
        e++;
    size_t n = (size_t)(e - s);
    if ((n == 4 && memcmp(s, "true", 4) == 0) || (n == 5 && memcmp(s, "false", 5) == 0)) {
        *type = TOML_BOOLEAN;
        if (out) {
            out->type = TOML_BOOLEAN;
            out->u.boolean = n == 4;
        }
    } else if (n == 3 && (memcmp(s, "inf", 3) == 0 || memcmp(s, "nan", 3) == 0)) {
        *type = TOML_FLOAT;
        int r = float_token(lx, s, e, out);
        if (r < 0)
            return r;
    } else {
        for (const char *p = s; p < e; p++) {
            int r = tl_check_byte(lx, p);
            if (r < 0)
                return r;
        }
        char w[48];
        tl_excerpt(w, sizeof(w), s, n);
        return tl_fail(lx, EINVAL, "invalid value \"%s\"", w);
    }
    lx->cur.p = e;
    return 0;
}

static int string_value(struct tl_lex *lx, struct toml_value *out, enum toml_type *type)
{
    *type = TOML_STRING;
    if (!out)
        return tl_string(lx, NULL);
    struct tl_buf b = {0};
    int r = tl_string(lx, &b);
    if (r == 0 && !b.s)
        r = buf_add(lx, &b, "", 0);
    if (r == 0 && memchr(b.s, '\0', b.len))
        r = tl_fail(lx, EINVAL, "a NUL character in a string is not supported");
    if (r < 0) {
        tl_buf_free(&b);
        return r;
    }
    out->type = TOML_STRING;
    out->u.str.ptr = b.s;
    out->u.str.len = b.len;
    return 0;
}

int tl_scalar(struct tl_lex *lx, struct toml_value *out, enum toml_type *type)
{
    char c = tl_peek(lx);
    *type = TOML_NONE;
    if (tl_at_end(lx) || at_newline(lx) || c == '#')
        return tl_fail(lx, EINVAL, "missing value");
    if (c == '"' || c == '\'')
        return string_value(lx, out, type);
    if (is_digit(c) || c == '+' || c == '-')
        return number(lx, out, type);
    if (c == ',' || c == ']' || c == '}')
        return tl_fail(lx, EINVAL, "missing value");
    int r = tl_check_byte(lx, lx->cur.p);
    return r < 0 ? r : word(lx, out, type);
}
