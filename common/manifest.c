/* manifest.c — the tail manifest (design §2): strict writer and parser shared by the host
 * (which writes it into the boot member) and the guest (which verifies the tail with it).
 * The writer emits exactly one canonical form; the parser accepts exactly that form plus
 * unknown line kinds and empty lines, so parse(format(m)) == m. */
#include "manifest.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "bootid.h"
#include "digest.h"

#define MODE_DIGITS 4
#define MODE_MAX 07777u

/* Why path (n bytes, not necessarily NUL-terminated) is not an acceptable manifest path,
 * or NULL when it is. */
static const char *path_problem(const char *path, size_t n)
{
    if (n == 0)
        return "empty path";
    if (n >= MANIFEST_PATH_MAX)
        return "path too long";
    if (path[0] == '/')
        return "absolute path";
    size_t start = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i < n) {
            unsigned char c = (unsigned char)path[i];
            if (c <= 0x20 || c >= 0x7f)
                return "path contains a space or a non-printable character";
            if (c != '/')
                continue;
        }
        size_t clen = i - start;
        if (clen == 0)
            return "path has an empty component";
        if (clen == 1 && path[start] == '.')
            return "path has a '.' component";
        if (clen == 2 && path[start] == '.' && path[start + 1] == '.')
            return "path has a '..' component";
        start = i + 1;
    }
    return NULL;
}

static bool is_lower_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

/* ---- writer ------------------------------------------------------------------------ */

struct out {
    char *buf;
    size_t cap;
    size_t len;
    bool full;
};

static void out_put(struct out *o, const char *s, size_t n)
{
    if (o->full || o->cap - o->len < n) {
        o->full = true;
        return;
    }
    memcpy(o->buf + o->len, s, n);
    o->len += n;
}

static void out_str(struct out *o, const char *s)
{
    out_put(o, s, strlen(s));
}

static int check_file(const struct manifest_file *f, size_t idx, struct evm_err *err)
{
    size_t plen = strnlen(f->path, sizeof(f->path));
    const char *why = plen == sizeof(f->path) ? "path not terminated" : path_problem(f->path, plen);
    if (why)
        return evm_errf(err, EINVAL, "manifest file %u: %s: \"%.*s\"", (unsigned)idx + 1, why,
                        (int)(plen > 64 ? 64 : plen), f->path);
    if (f->mode > MODE_MAX)
        return evm_errf(err, EINVAL, "manifest file %s: mode %o is not a permission mode", f->path,
                        f->mode);
    return 0;
}

int manifest_format(const struct manifest *m, char *buf, size_t cap, size_t *len,
                    struct evm_err *err)
{
    if (!m || (!buf && cap > 0))
        return evm_errf(err, EINVAL, "manifest_format: invalid arguments");
    if (!boot_id_valid(m->boot_id))
        return evm_errf(err, EINVAL, "manifest boot-id is not %d lowercase hex digits",
                        BOOT_ID_HEX_LEN);
    if (m->nfiles > MANIFEST_MAX_FILES)
        return evm_errf(err, EINVAL, "manifest lists %llu files, more than %d",
                        (unsigned long long)m->nfiles, MANIFEST_MAX_FILES);
    for (size_t i = 0; i < m->nfiles; i++) {
        int r = check_file(&m->files[i], i, err);
        if (r < 0)
            return r;
        for (size_t j = 0; j < i; j++)
            if (strcmp(m->files[i].path, m->files[j].path) == 0)
                return evm_errf(err, EINVAL, "manifest lists %s twice", m->files[i].path);
    }

    struct out o = {buf, cap, 0, false};
    out_str(&o, MANIFEST_MAGIC "\nboot-id ");
    out_str(&o, m->boot_id);
    out_str(&o, "\n");
    for (size_t i = 0; i < m->nfiles; i++) {
        const struct manifest_file *f = &m->files[i];
        char nums[48];
        char hex[DIGEST_HEX_LEN + 1];
        snprintf(nums, sizeof(nums), " %04o %" PRIu64 " ", f->mode, f->size);
        hex_encode(f->sha256, sizeof(f->sha256), hex);
        out_str(&o, "file ");
        out_str(&o, f->path);
        out_str(&o, nums);
        out_str(&o, hex);
        out_str(&o, "\n");
    }
    if (o.full)
        return evm_errf(err, ENOSPC, "manifest does not fit in a %llu-byte buffer",
                        (unsigned long long)cap);
    if (o.len < cap)
        buf[o.len] = '\0';
    if (len)
        *len = o.len;
    return 0;
}

int manifest_add(struct manifest *m, const char *path, unsigned mode, uint64_t size,
                 const uint8_t sha256[32], struct evm_err *err)
{
    if (!m || !path || !sha256)
        return evm_errf(err, EINVAL, "manifest_add: invalid arguments");
    size_t plen = strlen(path);
    const char *why = path_problem(path, plen);
    if (why)
        return evm_errf(err, EINVAL, "manifest: %s: \"%.*s\"", why, (int)(plen > 64 ? 64 : plen),
                        path);
    if (mode > MODE_MAX)
        return evm_errf(err, EINVAL, "manifest: %s: mode %o is not a permission mode", path, mode);
    if (manifest_find(m, path))
        return evm_errf(err, EINVAL, "manifest: %s is already listed", path);
    if (m->nfiles >= MANIFEST_MAX_FILES)
        return evm_errf(err, ENOSPC, "manifest: cannot add %s, already %d files", path,
                        MANIFEST_MAX_FILES);
    struct manifest_file *f = &m->files[m->nfiles];
    memset(f, 0, sizeof(*f));
    memcpy(f->path, path, plen + 1);
    f->mode = mode;
    f->size = size;
    memcpy(f->sha256, sha256, sizeof(f->sha256));
    m->nfiles++;
    return 0;
}

const struct manifest_file *manifest_find(const struct manifest *m, const char *path)
{
    if (!m || !path)
        return NULL;
    for (size_t i = 0; i < m->nfiles && i < MANIFEST_MAX_FILES; i++)
        if (strcmp(m->files[i].path, path) == 0)
            return &m->files[i];
    return NULL;
}

/* ---- parser ------------------------------------------------------------------------ */

struct span {
    const char *p;
    size_t n;
};

static bool span_eq(struct span s, const char *lit)
{
    size_t n = strlen(lit);
    return s.n == n && memcmp(s.p, lit, n) == 0;
}

/* Splits a line into space-separated fields; -1 when a field is empty (leading, trailing
 * or doubled space) or there are more than max fields. */
static int split_fields(const char *line, size_t n, struct span *f, int max)
{
    int nf = 0;
    size_t start = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i < n && line[i] != ' ')
            continue;
        if (i == start || nf == max)
            return -1;
        f[nf].p = line + start;
        f[nf].n = i - start;
        nf++;
        start = i + 1;
    }
    return nf;
}

/* Parses a canonical unsigned decimal (no sign, no leading zeros) into *out. */
static const char *parse_size(struct span s, uint64_t *out)
{
    if (s.n == 0)
        return "empty size";
    for (size_t i = 0; i < s.n; i++)
        if (s.p[i] < '0' || s.p[i] > '9')
            return "size is not a decimal number";
    if (s.n > 1 && s.p[0] == '0')
        return "size has leading zeros";
    uint64_t v = 0;
    for (size_t i = 0; i < s.n; i++) {
        unsigned d = (unsigned)(s.p[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return "size does not fit in 64 bits";
        v = v * 10 + d;
    }
    *out = v;
    return NULL;
}

static const char *parse_mode(struct span s, unsigned *out)
{
    if (s.n != MODE_DIGITS)
        return "mode is not 4 octal digits";
    unsigned v = 0;
    for (size_t i = 0; i < s.n; i++) {
        if (s.p[i] < '0' || s.p[i] > '7')
            return "mode is not 4 octal digits";
        v = v * 8 + (unsigned)(s.p[i] - '0');
    }
    *out = v;
    return NULL;
}

static const char *parse_digest(struct span s, uint8_t out[32])
{
    if (s.n != DIGEST_HEX_LEN)
        return "sha256 is not 64 hex digits";
    for (size_t i = 0; i < s.n; i++)
        if (!is_lower_hex(s.p[i]))
            return "sha256 is not 64 lowercase hex digits";
    if (hex_decode(s.p, s.n, out, 32) < 0)
        return "sha256 is not 64 hex digits";
    return NULL;
}

struct parse_state {
    struct manifest m;
    unsigned boot_id_line;
    unsigned file_line[MANIFEST_MAX_FILES];
};

static int parse_file_line(struct parse_state *st, unsigned lineno, const struct span *f, int nf,
                           struct evm_err *err)
{
    if (nf != 5)
        return evm_errf(err, EINVAL,
                        "manifest line %u: malformed file line: expected "
                        "'file <path> <mode> <size> <sha256>' separated by single spaces",
                        lineno);
    const char *why = path_problem(f[1].p, f[1].n);
    if (why)
        return evm_errf(err, EINVAL, "manifest line %u: %s: \"%.*s\"", lineno, why,
                        (int)(f[1].n > 64 ? 64 : f[1].n), f[1].p);
    struct manifest_file file;
    memset(&file, 0, sizeof(file));
    memcpy(file.path, f[1].p, f[1].n);
    if ((why = parse_mode(f[2], &file.mode)) || (why = parse_size(f[3], &file.size)) ||
        (why = parse_digest(f[4], file.sha256)))
        return evm_errf(err, EINVAL, "manifest line %u: %s: %s", lineno, file.path, why);
    for (size_t i = 0; i < st->m.nfiles; i++)
        if (strcmp(st->m.files[i].path, file.path) == 0)
            return evm_errf(err, EINVAL,
                            "manifest line %u: duplicate path %s (first listed on line %u)", lineno,
                            file.path, st->file_line[i]);
    if (st->m.nfiles >= MANIFEST_MAX_FILES)
        return evm_errf(err, EINVAL, "manifest line %u: too many files (more than %d)", lineno,
                        MANIFEST_MAX_FILES);
    st->file_line[st->m.nfiles] = lineno;
    st->m.files[st->m.nfiles++] = file;
    return 0;
}

static int parse_line(struct parse_state *st, unsigned lineno, const char *line, size_t n,
                      struct evm_err *err)
{
    if (lineno == 1) {
        if (n != strlen(MANIFEST_MAGIC) || memcmp(line, MANIFEST_MAGIC, n) != 0)
            return evm_errf(err, EINVAL,
                            "manifest line 1: expected \"" MANIFEST_MAGIC "\", got \"%.*s\"",
                            (int)(n > 40 ? 40 : n), line);
        return 0;
    }
    if (n == 0)
        return 0;
    if (line[0] == ' ' || line[0] == '\t')
        return evm_errf(err, EINVAL, "manifest line %u: starts with whitespace", lineno);
    size_t kw = 0;
    while (kw < n && line[kw] != ' ')
        kw++;
    struct span kind = {line, kw};
    bool is_boot = span_eq(kind, "boot-id"), is_file = span_eq(kind, "file");
    if (!is_boot && !is_file)
        return 0; /* unknown line kind: ignored (forward compatible) */

    struct span f[6];
    int nf = split_fields(line, n, f, 6);
    if (is_boot) {
        if (st->boot_id_line)
            return evm_errf(err, EINVAL, "manifest line %u: duplicate boot-id (first on line %u)",
                            lineno, st->boot_id_line);
        if (nf != 2 || f[1].n != BOOT_ID_HEX_LEN)
            return evm_errf(err, EINVAL,
                            "manifest line %u: malformed boot-id line: expected "
                            "'boot-id <%d lowercase hex digits>'",
                            lineno, BOOT_ID_HEX_LEN);
        memcpy(st->m.boot_id, f[1].p, BOOT_ID_HEX_LEN);
        st->m.boot_id[BOOT_ID_HEX_LEN] = '\0';
        if (!boot_id_valid(st->m.boot_id))
            return evm_errf(err, EINVAL, "manifest line %u: boot-id is not %d lowercase hex digits",
                            lineno, BOOT_ID_HEX_LEN);
        st->boot_id_line = lineno;
        return 0;
    }
    return parse_file_line(st, lineno, f, nf, err);
}

int manifest_parse(const char *buf, size_t len, struct manifest *m, struct evm_err *err)
{
    if (!m || (!buf && len > 0))
        return evm_errf(err, EINVAL, "manifest_parse: invalid arguments");
    if (len > MANIFEST_MAX_BYTES)
        return evm_errf(err, EFBIG, "manifest is %llu bytes, over the %u-byte limit",
                        (unsigned long long)len, MANIFEST_MAX_BYTES);
    if (len == 0)
        return evm_errf(err, EINVAL, "manifest line 1: empty manifest, expected \"%s\"",
                        MANIFEST_MAGIC);

    struct parse_state st;
    memset(&st, 0, sizeof(st));
    unsigned lineno = 0; /* at most MANIFEST_MAX_BYTES lines */
    size_t pos = 0;
    while (pos < len) {
        lineno++;
        const char *line = buf + pos;
        size_t n = 0;
        while (pos + n < len && line[n] != '\n') {
            if (line[n] == '\0')
                return evm_errf(err, EINVAL, "manifest line %u: contains a NUL byte", lineno);
            if (line[n] == '\r')
                return evm_errf(err, EINVAL,
                                "manifest line %u: contains a carriage return (CRLF line "
                                "ends are not accepted)",
                                lineno);
            n++;
        }
        if (pos + n == len)
            return evm_errf(err, EINVAL,
                            "manifest line %u: truncated: the last line has no newline", lineno);
        int r = parse_line(&st, lineno, line, n, err);
        if (r < 0)
            return r;
        pos += n + 1;
    }
    if (!st.boot_id_line)
        return evm_errf(err, EINVAL, "manifest line %u (end): missing boot-id line", lineno);
    *m = st.m;
    return 0;
}
