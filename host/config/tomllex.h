/* tomllex.h — internal to host/config/: the lexical layer of the TOML reader (tomllex.c):
 * a cursor over TOML text, whitespace, newlines and comments, the bytes TOML never allows,
 * dotted keys, strings of the four kinds, and the scalar values (integers, floats,
 * booleans, dates and times) — each checked exactly, and decoded on request. Token
 * boundaries follow the daemon's parser (BurntSushi/toml v1.6.0, TOML 1.1), so a value
 * ends where it ends there. Structure (arrays, inline tables, tables) is tomlparse.c's. */
#ifndef EVM_TOMLLEX_H
#define EVM_TOMLLEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "config/toml.h"

/* Longest excerpt of document text quoted in a message (then "..."). */
#define TOML_EXCERPT_MAX 36

/* A position in TOML text: the document, or a value handed over by inih. */
struct tl_cur {
    const char *p, *end;
    const char *line_start; /* start of the line holding p (columns count from it) */
    int line;
};

/* Why lexing stopped. */
struct tl_err {
    int code;       /* EINVAL or ENOMEM; 0 = none */
    int line;       /* where */
    bool eof;       /* the text ended inside the construct (a "never closed" error) */
    char what[256]; /* short reason */
};

/* A growable byte buffer (decoded strings, key parts). */
struct tl_buf {
    char *s;
    size_t len, cap;
};

/* The lexer: a cursor and the reason of the last failure. */
struct tl_lex {
    struct tl_cur cur;
    struct tl_err err;
};

/* A dotted key's parts, decoded: part i is names.s[off[i] .. off[i] + len[i]). */
struct tl_key {
    struct tl_buf names;
    size_t *off, *len;
    size_t n, cap;
};

static inline bool tl_is_ws(char c)
{
    return c == ' ' || c == '\t';
}

static inline bool tl_is_bare(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
}

static inline bool tl_at_end(const struct tl_lex *lx)
{
    return lx->cur.p >= lx->cur.end;
}

/* The byte at the cursor, or 0 at the end. */
static inline char tl_peek(const struct tl_lex *lx)
{
    return lx->cur.p < lx->cur.end ? *lx->cur.p : '\0';
}

/* Starts lexing text[0..len) at line `line` (text is that line's start). */
void tl_init(struct tl_lex *lx, const char *text, size_t len, int line);

/* Records a failure at the current line: returns -code. */
int tl_fail(struct tl_lex *lx, int code, const char *fmt, ...) EVM_PRINTF(3, 4);

/* A byte TOML never allows at p (NUL, another control character, a CR not before LF,
 * invalid UTF-8): records why, naming its column, and returns -EINVAL; 0 when p is fine. */
int tl_check_byte(struct tl_lex *lx, const char *p);

/* The length of the valid character at p (tab, printable ASCII, one strict UTF-8
 * sequence), or 0 when p holds a byte TOML never allows there (LF and CR included). */
size_t tl_char_len(const char *p, const char *end);

void tl_skip_ws(struct tl_lex *lx);

/* Consumes "\n" or "\r\n" (counting the line): true when there was one. */
bool tl_newline(struct tl_lex *lx);

/* At '#': consumes the comment up to (not including) the line end, checking its bytes. */
int tl_comment(struct tl_lex *lx);

/* Skips whitespace, comments and newlines (inside arrays and inline tables). */
int tl_skip_wcn(struct tl_lex *lx);

/* After a statement: whitespace, an optional comment, then a newline (consumed) or the end
 * of the text; anything else is "unexpected ... after <what>". */
int tl_line_end(struct tl_lex *lx, const char *what);

/* Parses a dotted key (bare, "basic" and 'literal' parts, whitespace around the dots) into
 * k, stopping after the whitespace that follows it. */
int tl_key(struct tl_lex *lx, struct tl_key *k);
void tl_key_free(struct tl_key *k);

/* Parses a string of any kind at the cursor (a quote). out (may be NULL: only checked)
 * receives the decoded bytes, which may hold NUL. */
int tl_string(struct tl_lex *lx, struct tl_buf *out);

/* Parses a scalar value at the cursor: a string, integer, float, boolean, date or time.
 * *type says which; out (may be NULL: only checked) receives it decoded — a string with a
 * NUL in it cannot be decoded (an error only then). */
int tl_scalar(struct tl_lex *lx, struct toml_value *out, enum toml_type *type);

/* True when c may follow a value (whitespace, ',', ']', '}', '#', a line end; the end of
 * the text too, which callers check first). */
bool tl_value_end(char c);

void tl_buf_free(struct tl_buf *b);

/* A quoted excerpt of text for messages: at most TOML_EXCERPT_MAX bytes, each byte
 * outside 0x20..0x7e a '?', then "..." when cut. */
void tl_excerpt(char *out, size_t size, const char *s, size_t n);

/* The excerpt of the word at p: up to the first byte that may follow a value. */
void tl_word(char *out, size_t size, const char *p, const char *end);

#endif
