/* tomlscan.c — reading a TOML document for the keys a caller wants (toml_read, see toml.h
 * "How a document is read"): hands inih one source line per call; reads each statement
 * with the parser — a one-line "key = value" from inih's split of it, everything else
 * from the document, inih seeing an empty line instead; then finds the wanted keys where
 * the daemon's key rules put them and runs their checks. */
#include "config/toml.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ini.h"
#include "config/tomllex.h"
#include "config/tomlparse.h"
#include "config/tomltree.h"

struct reader {
    const char *name;
    const char *buf;
    size_t len;
    size_t bom;    /* byte order mark bytes skipped at the start */
    size_t pos;    /* start of the next source line */
    size_t parsed; /* statements are read up to here */

    /* the line being fed to inih */
    const char *line;
    size_t line_len;
    size_t off;  /* bytes of it already handed over */
    bool masked; /* inih receives "\n" instead */
    int lineno;

    /* a one-line key/value left to inih's split */
    bool pending;
    const char *key_text;
    size_t key_len;

    struct ttree *tree;
    struct tparser *p;   /* reads statements */
    struct tparser *dry; /* finds where a key/value ends, before it is read */
    struct toml_want *wants;
    size_t nwants;
    bool failed;
    int rc;
    struct evm_err *err;
};

static void fail(struct reader *r, int code, const char *fmt, ...) EVM_PRINTF(3, 4);
static void fail(struct reader *r, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char msg[sizeof(r->err->msg)];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    r->failed = true;
    r->rc = evm_errf(r->err, code, "%s", msg);
}

/* The parser stopped: "<name>:<line>: <key>: <what>". */
static void fail_parse(struct reader *r, const struct tparser *p)
{
    const struct tp_error *e = tp_error(p);
    if (e->code == ENOMEM) {
        fail(r, ENOMEM, "out of memory");
        return;
    }
    char key[128] = "", where[64] = "";
    if (e->key != TT_NONE)
        tt_path_text(r->tree, e->key, key, sizeof(key));
    if (!e->eof && e->line != e->stmt_line)
        snprintf(where, sizeof(where), " (in the value that starts on line %d)", e->stmt_line);
    fail(r, e->code ? e->code : EINVAL, "%s:%d: %s%s%s%s", r->name, e->line, key,
         key[0] ? ": " : "", e->what, where);
}

/* ---- statements ---------------------------------------------------------------------- */

/* Every character of the line s[0..n) is one TOML allows in a comment (tab, printable,
 * valid UTF-8; a CR only right before the LF that ends the line): nothing inih would cut
 * short (a NUL) or an error would have to name by its column. */
static bool clean(const char *s, size_t n)
{
    const char *end = s + n;
    while (s < end) {
        size_t k = tl_char_len(s, end);
        if (k == 0 && !(*s == '\n' && s + 1 == end) &&
            !(*s == '\r' && s + 2 == end && s[1] == '\n'))
            return false;
        s += k ? k : 1;
    }
    return true;
}

/* A key/value at s (the current line) that inih splits as TOML does: clean, ending on this
 * line, with no '=' or ':' before its '='. Notes its key text for the handler. */
static bool for_inih(struct reader *r, const char *s)
{
    if (!clean(s, r->line_len))
        return false;
    enum tp_kind kind;
    const char *end;
    if (tp_statement(r->dry, s, (size_t)(r->buf + r->len - s), r->lineno, &kind, &end) < 0 ||
        end > s + r->line_len)
        return false;
    const char *eq = tp_equals(r->dry);
    const char *k = s;
    while (tl_is_ws(*k))
        k++;
    for (const char *c = k; c < eq; c++)
        if (*c == '=' || *c == ':')
            return false;
    const char *ke = eq;
    while (ke > k && tl_is_ws(ke[-1]))
        ke--;
    r->key_text = k;
    r->key_len = (size_t)(ke - k);
    return true;
}

/* The statement starting on the current line. */
static void read_statement(struct reader *r, const char *s)
{
    const char *q = s, *doc_end = r->buf + r->len;
    while (q < doc_end && tl_is_ws(*q))
        q++;
    bool keyval = q < doc_end && *q != '#' && *q != '[' && *q != '\n' && *q != '\r';
    if (keyval && for_inih(r, s)) {
        r->pending = true;
        r->masked = false;
        r->parsed = (size_t)(s - r->buf) + r->line_len;
        return;
    }
    enum tp_kind kind;
    const char *end;
    if (tp_statement(r->p, s, (size_t)(doc_end - s), r->lineno, &kind, &end) < 0) {
        fail_parse(r, r->p);
        return;
    }
    r->parsed = (size_t)(end - r->buf);
}

/* ---- feeding inih -------------------------------------------------------------------- */

static bool next_line(struct reader *r)
{
    if (r->pos >= r->len)
        return false;
    size_t at = r->pos == 0 ? r->bom : r->pos;
    const char *s = r->buf + at;
    const char *nl = memchr(s, '\n', r->len - at);
    size_t n = nl ? (size_t)(nl - s) + 1 : r->len - at;
    r->pos = at + n;
    r->line = s;
    r->line_len = n;
    r->off = 0;
    r->lineno++;
    r->masked = true;
    if (at >= r->parsed)
        read_statement(r, s);
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
    str[n] = '\0';
    r->off += n;
    return str;
}

static int ini_handler_fn(void *user, const char *section, const char *name, const char *value,
                          int lineno)
{
    struct reader *r = user;
    (void)section; /* table headers are read by the parser (see toml.h) */
    if (r->failed)
        return 1;
    if (!r->pending || lineno != r->lineno || strlen(name) != r->key_len ||
        memcmp(name, r->key_text, r->key_len) != 0) {
        fail(r, EIO, "%s: internal error: inih split line %d unlike TOML", r->name, lineno);
        return 0;
    }
    r->pending = false;
    if (tp_keyval_split(r->p, name, r->key_len, value, strlen(value), lineno) < 0)
        fail_parse(r, r->p);
    return 1;
}

/* ---- wanted keys --------------------------------------------------------------------- */

/* The parser set a wanted key's value: keep it (it may still be replaced). */
static void on_want(void *ctx, int want, uint32_t node, struct toml_value *v, int line)
{
    struct reader *r = ctx;
    struct toml_want *w = &r->wants[want];
    toml_value_free(&w->value);
    w->value = *v;
    memset(v, 0, sizeof(*v));
    w->line = line;
    w->node_ = node;
}

/* The first error found after the document is read: in file order. */
struct late_error {
    int line, code;
    char msg[sizeof(((struct evm_err *)0)->msg)];
};

static void late(struct late_error *le, int line, int code, const char *fmt, ...) EVM_PRINTF(4, 5);
static void late(struct late_error *le, int line, int code, const char *fmt, ...)
{
    if (le->code && le->line <= line)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(le->msg, sizeof(le->msg), fmt, ap);
    va_end(ap);
    le->line = line;
    le->code = code;
}

/* The mapping node of w's path, TT_NONE when absent; a prefix that is not a table is an
 * error. */
static uint32_t find_want(struct reader *r, const struct toml_want *w, struct late_error *le)
{
    uint32_t node = 0;
    const char *part = w->path;
    for (;;) {
        const char *dot = strchr(part, '.');
        size_t len = dot ? (size_t)(dot - part) : strlen(part);
        uint32_t child = tt_child(r->tree, node, part, len);
        if (child == TT_NONE || !dot)
            return child;
        if (tt_node_kind(r->tree, child) != TK_TABLE) {
            late(le, tt_node_line(r->tree, child), EINVAL, "%s:%d: %.*s: expected a table, got %s",
                 r->name, tt_node_line(r->tree, child), (int)(dot - w->path), w->path,
                 tt_node_what(r->tree, child));
            return TT_NONE;
        }
        node = child;
        part = dot + 1;
    }
}

/* w's value as the daemon ends up with it. */
static void settle_want(struct reader *r, struct toml_want *w, uint32_t node)
{
    if (node != TT_NONE && node == w->node_ && w->line)
        return; /* the decoded value */
    toml_value_free(&w->value);
    w->line = 0;
    if (node == TT_NONE)
        return;
    enum tt_kind k = tt_node_kind(r->tree, node);
    w->value.type = k == TK_TABLE ? TOML_TABLE
                    : k == TK_AOT ? TOML_ARRAY
                                  : tt_node_type(r->tree, node);
    w->line = tt_node_line(r->tree, node);
}

static void check_wants(struct reader *r)
{
    struct late_error le = {0};
    for (size_t i = 0; i < r->nwants; i++) {
        struct toml_want *w = &r->wants[i];
        settle_want(r, w, find_want(r, w, &le));
        if (!w->line || !w->check)
            continue;
        struct evm_err e = {0};
        int rc = w->check(&w->value, w->check_arg, &e);
        if (rc < 0)
            late(&le, w->line, -rc, "%s:%d: %s: %s", r->name, w->line, w->path,
                 e.msg[0] ? e.msg : "invalid value");
    }
    if (le.code)
        fail(r, le.code, "%s", le.msg);
}

/* ---- toml_read ----------------------------------------------------------------------- */

static size_t bom_len(const char *b, size_t len)
{
    if (len >= 3 && memcmp(b, "\xEF\xBB\xBF", 3) == 0)
        return 3;
    if (len >= 2 && (memcmp(b, "\xFF\xFE", 2) == 0 || memcmp(b, "\xFE\xFF", 2) == 0))
        return 2; /* the daemon skips a UTF-16 one too */
    return 0;
}

static int read_doc(struct reader *r)
{
    const char **paths = calloc(r->nwants ? r->nwants : 1, sizeof(*paths));
    if (!paths)
        return evm_errf(r->err, ENOMEM, "out of memory");
    for (size_t i = 0; i < r->nwants; i++)
        paths[i] = r->wants[i].path;
    r->tree = tt_new(paths, r->nwants);
    free(paths); /* the tree keeps pointers into the paths themselves */
    r->p = r->tree ? tp_new(r->tree, on_want, r) : NULL;
    r->dry = r->p ? tp_new(NULL, NULL, NULL) : NULL;
    if (!r->dry)
        return evm_errf(r->err, ENOMEM, "out of memory");
    int ini_rc = ini_parse_stream(ini_reader_fn, r, ini_handler_fn, r);
    if (!r->failed && ini_rc == -2)
        fail(r, ENOMEM, "out of memory");
    if (!r->failed && r->pending)
        fail(r, EIO, "%s: internal error: inih skipped line %d", r->name, r->lineno);
    if (!r->failed)
        check_wants(r);
    return r->failed ? r->rc : 0;
}

int toml_read(const char *name, const char *bytes, size_t len, struct toml_want *wants, size_t n,
              struct evm_err *err)
{
    for (size_t i = 0; i < n; i++) {
        memset(&wants[i].value, 0, sizeof(wants[i].value));
        wants[i].line = 0;
        wants[i].node_ = TT_NONE;
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
    r->bom = bom_len(bytes, len);
    r->wants = wants;
    r->nwants = n;
    r->err = err;
    int rc = read_doc(r);
    if (rc < 0)
        for (size_t i = 0; i < n; i++) {
            toml_value_free(&wants[i].value);
            wants[i].line = 0;
        }
    tp_free(r->dry);
    tp_free(r->p);
    tt_free(r->tree);
    free(r);
    return rc;
}

void toml_wants_free(struct toml_want *wants, size_t n)
{
    for (size_t i = 0; i < n; i++)
        toml_value_free(&wants[i].value);
}
