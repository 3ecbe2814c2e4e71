/* tomlscan.c — the TOML line reader over inih (see toml.h, "How a document is read"):
 * hands inih one source line per call, masks the continuation lines of multi-line
 * constructs, tracks table headers ([a.b], [[a.b]]) and dotted keys itself, and matches
 * the keys inih reports against the wanted ones (toml_read). Values are decoded by
 * tomlvalue.c. */
#include "config/toml.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ini.h"
#include "log.h"
#include "strutil.h"
#include "config/tomlvalue.h"

/* ---- multi-line constructs ----------------------------------------------------------- */

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

/* Inside a multi-line string: returns the position after its closing quotes, or end. */
static const char *scan_ml_string(struct scan *s, const char *p, const char *end)
{
    char q = s->str == SS_ML_BASIC ? '"' : '\'';
    while (p < end) {
        if (s->str == SS_ML_BASIC && *p == '\\') {
            p += (end - p >= 2) ? 2 : 1;
            continue;
        }
        if (*p != q) {
            p++;
            continue;
        }
        size_t run = toml_quote_run(p, end, q);
        p += run;
        if (run >= 3) {
            s->str = SS_NONE;
            return p;
        }
    }
    return p;
}

/* A single-line string opened at p: returns the position after its closing quote, or end. */
static const char *skip_string(const char *p, const char *end)
{
    char q = *p++;
    while (p < end && *p != q) {
        if (q == '"' && *p == '\\' && end - p >= 2)
            p++;
        p++;
    }
    return p < end ? p + 1 : p;
}

/* Counts an opening or closing bracket or brace outside strings. */
static void scan_bracket(struct scan *s, char c)
{
    if (c == '[' || c == '{')
        s->depth++;
    else if ((c == ']' || c == '}') && s->depth > 0)
        s->depth--;
}

/* Advances the multi-line state over p[0..n) (one line, newline excluded). */
static void scan_line(struct scan *s, const char *p, size_t n)
{
    const char *end = p + n;
    while (p < end) {
        char c = *p;
        if (s->str != SS_NONE) {
            p = scan_ml_string(s, p, end);
        } else if (c == '#') {
            return;
        } else if ((c == '"' || c == '\'') && end - p >= 3 && p[1] == c && p[2] == c) {
            s->str = c == '"' ? SS_ML_BASIC : SS_ML_LITERAL;
            p += 3;
        } else if (c == '"' || c == '\'') {
            p = skip_string(p, end);
        } else {
            scan_bracket(s, c);
            p++;
        }
    }
}

/* ---- the reader ---------------------------------------------------------------------- */

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
    struct toml_kpath key; /* key path as written (KEYVAL) */
    size_t key_text_len;   /* raw key text length from line + start + leading ws */
    const char *key_text;
    const char *value; /* after '=' (KEYVAL) */
    bool incomplete;

    /* current table */
    struct toml_kpath section; /* root: empty */
    bool section_ok;           /* false after a bad header or inside [[...]] */

    struct toml_want *wants;
    size_t nwants;
    bool failed;
    int rc;
    struct evm_err *err;
};

/* Stops the read with "<name>:<line>: <key>: <what>" and -code. */
static void rfail(struct reader *r, int code, int line, const char *key, const char *fmt, ...)
    EVM_PRINTF(5, 6);
static void rfail(struct reader *r, int code, int line, const char *key, const char *fmt, ...)
{
    char what[sizeof(r->err->msg)];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    r->failed = true;
    r->rc = evm_errf(r->err, code, "%s:%d: %s: %s", r->name, line, key, what);
}

/* The 1-based column of the first NUL byte in the current line (line end excluded), 0 when
 * there is none. inih is handed 0x7f in its place (ini_reader_fn), so the value decoder
 * would name the wrong byte: a wanted key's line is checked here first. */
static size_t line_nul_column(const struct reader *r)
{
    const char *p = r->line + r->start;
    const char *end = r->line + r->line_len;
    while (end > p && (end[-1] == '\n' || end[-1] == '\r'))
        end--;
    const char *nul = memchr(p, '\0', (size_t)(end - p));
    return nul ? (size_t)(nul - p) + 1 : 0;
}

/* A NUL byte in the current line, which concerns key: stops the read naming its column. */
static bool fail_nul(struct reader *r, const char *key)
{
    size_t col = line_nul_column(r);
    if (col == 0)
        return false;
    rfail(r, EINVAL, r->lineno, key, "a NUL byte (0x00) at column %zu: not allowed in TOML", col);
    return true;
}

static void fail_nomem(struct reader *r)
{
    r->failed = true;
    r->rc = evm_errf(r->err, ENOMEM, "out of memory");
}

static bool path_is_prefix(const char *prefix, size_t plen, const char *path)
{
    return strlen(path) > plen && memcmp(path, prefix, plen) == 0 && path[plen] == '.';
}

/* A [[P]] header: wanted keys below P belong to array elements from now on. */
static void shadow_under(struct reader *r, const struct toml_kpath *p)
{
    if (p->opaque)
        return;
    for (size_t i = 0; i < r->nwants; i++)
        if (path_is_prefix(p->s, p->len, r->wants[i].path) || strcmp(p->s, r->wants[i].path) == 0)
            r->wants[i].shadowed_ = true;
}

/* ---- classifying a line -------------------------------------------------------------- */

/* Parses the table header at p ('['): its path, and whether it is [[...]]. False when it
 * is not a valid header. */
static bool parse_header(const char *p, const char *end, struct toml_kpath *k, bool *aot)
{
    struct toml_dec d = {.p = p + 1, .end = end};
    *aot = d.p < end && *d.p == '[';
    if (*aot)
        d.p++;
    if (toml_parse_key(&d, k) < 0 || d.p >= end || *d.p != ']')
        return false;
    if (*aot && (d.p + 1 >= end || d.p[1] != ']'))
        return false;
    d.p += *aot ? 2 : 1;
    toml_dec_skip_ws(&d);
    return d.p >= end || *d.p == '#';
}

static bool names_wanted(const struct reader *r, const struct toml_kpath *k)
{
    for (size_t i = 0; i < r->nwants; i++)
        if (strcmp(k->s, r->wants[i].path) == 0 || path_is_prefix(k->s, k->len, r->wants[i].path))
            return true;
    return false;
}

/* An unparsable header: its keys are ignored until the next valid one. */
static void bad_header(struct reader *r, const char *p, const char *end, bool aot)
{
    r->section_ok = false;
    /* A broken header naming a wanted key's table would silently hide its keys. */
    struct toml_dec d = {.p = p + (aot ? 2 : 1), .end = end};
    struct toml_kpath k;
    if (toml_parse_key(&d, &k) == 0 && !k.opaque && names_wanted(r, &k)) {
        if (!fail_nul(r, k.s))
            rfail(r, EINVAL, r->lineno, k.s, "not a valid table header");
        return;
    }
    log_debug("%s:%d: not a valid table header; its keys are ignored", r->name, r->lineno);
}

static void classify_header(struct reader *r, const char *p, const char *end)
{
    struct toml_kpath k;
    bool aot;
    r->kind = LK_HEADER;
    if (!parse_header(p, end, &k, &aot)) {
        bad_header(r, p, end, aot);
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
    struct toml_dec d = {.p = p, .end = end};
    struct toml_kpath k;
    if (toml_parse_key(&d, &k) < 0 || d.p >= end || *d.p != '=') {
        r->kind = LK_JUNK;
        return;
    }
    const char *kend = d.p;
    while (kend > p && toml_is_ws(kend[-1]))
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
        str_excerpt(r->cont_key, sizeof(r->cont_key), p, r->key_text_len, TOML_EXCERPT_MAX);
    }
}

/* A junk line in a wanted key's table that starts with a wanted key's name. */
static void check_junk(struct reader *r, const char *p, const char *end)
{
    if (!r->section_ok || r->section.opaque)
        return;
    const char *s = p;
    while (p < end && toml_is_bare(*p))
        p++;
    struct toml_kpath word = {.len = 0}, full;
    toml_kpath_add(&word, s, (size_t)(p - s));
    if (word.opaque)
        return;
    toml_kpath_join(&full, &r->section, &word);
    if (full.opaque)
        return;
    for (size_t i = 0; i < r->nwants; i++)
        if (!r->wants[i].shadowed_ && strcmp(full.s, r->wants[i].path) == 0) {
            if (!fail_nul(r, full.s))
                rfail(r, EINVAL, r->lineno, full.s, "expected \"key = value\"");
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
    while (p < end && toml_is_ws(*p))
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

/* ---- feeding inih -------------------------------------------------------------------- */

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

/* ---- wanted-key matching ------------------------------------------------------------- */

static void fail_duplicate(struct reader *r, const struct toml_want *w)
{
    rfail(r, EINVAL, r->lineno, w->path, "duplicate key (first set on line %d, again on line %d)",
          w->line, r->lineno);
}

static void fail_multiline(struct reader *r, const char *key)
{
    rfail(r, EINVAL, r->lineno, key,
          "the value continues on the next lines; only single-line values are supported for "
          "this key");
}

/* A value that did not decode (e: why): out of memory stops the read as is. */
static void fail_decode(struct reader *r, int rc, const char *key, const struct evm_err *e)
{
    if (rc == -ENOMEM) {
        fail_nomem(r);
        return;
    }
    rfail(r, EINVAL, r->lineno, key, "%s", e->msg);
}

/* The caller's check of a wanted key's value; a failure keeps the check's code. */
static void run_check(struct reader *r, struct toml_want *w)
{
    if (!w->check)
        return;
    struct evm_err e = {0};
    int rc = w->check(&w->value, w->check_arg, &e);
    if (rc < 0)
        rfail(r, -rc, w->line, w->path, "%s", e.msg[0] ? e.msg : "invalid value");
}

/* A wanted key on its own key line: decode text[0..len) as its value. */
static void record(struct reader *r, struct toml_want *w, const char *text, size_t len)
{
    if (fail_nul(r, w->path))
        return;
    if (w->line) {
        fail_duplicate(r, w);
        return;
    }
    if (r->incomplete) {
        fail_multiline(r, w->path);
        return;
    }
    struct evm_err e = {0};
    int rc = toml_decode_value(text, len, &w->value, &e);
    if (rc < 0) {
        fail_decode(r, rc, w->path, &e);
        return;
    }
    w->line = r->lineno;
    run_check(r, w);
}

/* A copy of v for a wanted key (arrays and tables are never what a wanted key holds: only
 * their type is kept). */
static int copy_value(struct toml_value *out, const struct toml_value *v)
{
    toml_value_free(out);
    if (v->type == TOML_INTEGER || v->type == TOML_BOOLEAN) {
        *out = *v;
        return 0;
    }
    if (v->type != TOML_STRING) {
        out->type = v->type;
        return 0;
    }
    out->u.str.ptr = strdup(v->u.str.ptr);
    if (!out->u.str.ptr)
        return -ENOMEM;
    out->type = TOML_STRING;
    out->u.str.len = v->u.str.len;
    return 0;
}

/* A wanted key set inside an inline table. */
static void record_inline(struct reader *r, struct toml_want *w, const struct toml_value *v)
{
    if (w->line) {
        fail_duplicate(r, w);
        return;
    }
    if (copy_value(&w->value, v) < 0) {
        fail_nomem(r);
        return;
    }
    w->line = r->lineno;
    run_check(r, w);
}

/* The key path of an inline table's key (it may be dotted: its parts are already joined). */
static void inline_key_path(struct toml_kpath *sub, const struct toml_kv *kv)
{
    memset(sub, 0, sizeof(*sub));
    size_t n = kv->opaque ? 0 : strlen(kv->key);
    sub->opaque = kv->opaque || n >= sizeof(sub->s);
    if (sub->opaque)
        return;
    memcpy(sub->s, kv->key, n + 1);
    sub->len = n;
}

static void match_value(struct reader *r, const struct toml_kpath *full,
                        const struct toml_value *v);

/* full is a proper prefix of a wanted path: v must be a table; match its leaves. */
static void match_table(struct reader *r, const struct toml_kpath *full, const struct toml_value *v)
{
    if (v->type != TOML_TABLE) {
        rfail(r, EINVAL, r->lineno, full->s, "expected a table, got %s", toml_type_name(v->type));
        return;
    }
    for (size_t j = 0; j < v->u.table.len && !r->failed; j++) {
        const struct toml_kv *kv = &v->u.table.items[j];
        struct toml_kpath sub, path;
        inline_key_path(&sub, kv);
        toml_kpath_join(&path, full, &sub);
        match_value(r, &path, &kv->value);
    }
}

/* A value inside an inline table at path full. */
static void match_value(struct reader *r, const struct toml_kpath *full, const struct toml_value *v)
{
    if (full->opaque)
        return;
    for (size_t i = 0; i < r->nwants && !r->failed; i++) {
        struct toml_want *w = &r->wants[i];
        if (w->shadowed_)
            continue;
        if (strcmp(full->s, w->path) == 0) {
            record_inline(r, w, v);
        } else if (path_is_prefix(full->s, full->len, w->path)) {
            match_table(r, full, v);
            return;
        }
    }
}

/* A key line whose key is a table above a wanted key (e.g. linux = { cpus = 2 } under
 * [vm]): decode text[0..len) and match its leaves. */
static void match_line_table(struct reader *r, const struct toml_kpath *full, const char *text,
                             size_t len)
{
    if (fail_nul(r, full->s))
        return;
    if (r->incomplete) {
        fail_multiline(r, full->s);
        return;
    }
    struct toml_value v;
    struct evm_err e = {0};
    int rc = toml_decode_value(text, len, &v, &e);
    if (rc < 0) {
        fail_decode(r, rc, full->s, &e);
        return;
    }
    match_table(r, full, &v);
    toml_value_free(&v);
}

/* The current key line, key path full, value text[0..len). */
static void match_line(struct reader *r, const struct toml_kpath *full, const char *text,
                       size_t len)
{
    for (size_t i = 0; i < r->nwants && !r->failed; i++) {
        struct toml_want *w = &r->wants[i];
        if (w->shadowed_)
            continue;
        if (strcmp(full->s, w->path) == 0) {
            record(r, w, text, len);
        } else if (path_is_prefix(full->s, full->len, w->path)) {
            match_line_table(r, full, text, len);
            return;
        }
    }
}

/* The value text of the current key line: inih's split (name, value) when it agrees with
 * the TOML key (it splits at the first '=' or ':', which differs only for quoted keys
 * holding one of those), else the line after the TOML key's '=', trimmed. */
static void value_text(const struct reader *r, const char *name, const char *value,
                       const char **text, size_t *len)
{
    if (strlen(name) == r->key_text_len && memcmp(name, r->key_text, r->key_text_len) == 0) {
        *text = value;
        *len = strlen(value);
        return;
    }
    const char *s = r->value;
    const char *end = r->line + r->line_len;
    while (s < end && toml_is_ws(*s))
        s++;
    while (end > s && (toml_is_ws(end[-1]) || end[-1] == '\r' || end[-1] == '\n'))
        end--;
    *text = s;
    *len = (size_t)(end - s);
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
    struct toml_kpath full;
    toml_kpath_join(&full, &r->section, &r->key);
    if (full.opaque)
        return 1;
    const char *text;
    size_t len;
    value_text(r, name, value, &text, &len);
    match_line(r, &full, text, len);
    return 1;
}

/* ---- toml_read ----------------------------------------------------------------------- */

/* The result of a read once inih has returned ini_rc. */
static int read_result(struct reader *r, int ini_rc)
{
    if (r->failed)
        return r->rc;
    if (ini_rc == -2)
        return evm_errf(r->err, ENOMEM, "out of memory");
    if (ini_rc > 0)
        log_debug("%s:%d: a line inih could not parse was ignored", r->name, ini_rc);
    if (scan_open(&r->sc))
        return evm_errf(r->err, EINVAL,
                        "%s:%d: %s: multi-line value is never closed (it runs to the end of "
                        "the file)",
                        r->name, r->cont_line, r->cont_key);
    return 0;
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
    int rc = read_result(r, ini_parse_stream(ini_reader_fn, r, ini_handler_fn, r));
    free(r);
    return rc;
}

void toml_wants_free(struct toml_want *wants, size_t n)
{
    for (size_t i = 0; i < n; i++)
        toml_value_free(&wants[i].value);
}
