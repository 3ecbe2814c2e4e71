/* inspect.c — `initrd inspect`: walks an initrd the way the kernel's unpack_to_rootfs does
 * (members back to back, zero bytes between them skipped, a raw newc member only at a
 * 4-byte-aligned offset, gzip and zstd members decompressed here so their exact end is
 * known), lists every member and entry, and checks assets/manifest against the final
 * contents of the tail directory (later entries replace earlier ones, as in the kernel).
 *
 * Memory is bounded: the file is read as one forward stream through a fixed buffer, the
 * decompressors write into a fixed buffer, libarchive parses the cpio from those buffers
 * through a read callback, entry data is hashed as it streams, and only the manifest entry
 * (at most MANIFEST_MAX_BYTES) is kept. Only regular reads are used (no seeking), so the
 * same code runs on POSIX and Windows. */
#include "initrd/inspect.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "digest.h"
#include "manifest.h"
#include "fileutil.h"
#include "tail.h"

#define CHUNK (256u * 1024u)
/* Entries under assets/ whose final state is remembered for the manifest check. */
#define MAX_TRACKED 4096u

enum comp { COMP_NONE, COMP_GZIP, COMP_ZSTD };

static const char *comp_name(enum comp c)
{
    return c == COMP_GZIP ? "gzip" : c == COMP_ZSTD ? "zstd" : "none";
}

/* Forward-only reader over the file: buf[pos..len) is unread, buf[0] is at file offset
 * base. */
struct src {
    int fd;
    const char *path;
    uint8_t *buf;
    size_t pos, len;
    uint64_t base;
    bool eof;
};

/* The final state of one path under assets/. */
struct tracked {
    char path[MANIFEST_PATH_MAX];
    unsigned mode; /* full st_mode, type included */
    uint64_t size;
    uint8_t sha256[DIGEST_LEN];
};

struct inspector {
    FILE *out;
    struct evm_err *err;
    struct src src;

    /* current member */
    enum comp comp;
    unsigned index;
    uint64_t offset;
    z_stream z;
    bool z_live;
    ZSTD_DStream *zs;
    uint8_t *outbuf;   /* decompressed bytes handed to libarchive */
    size_t last_len;   /* length of the last block handed to libarchive */
    uint64_t produced; /* bytes handed to libarchive so far in this member */
    bool ended;        /* compressed stream reached its end */
    int cb_err;        /* error raised inside the read callback (negative errno) */

    struct tracked *tracked;
    size_t ntracked;
    bool tracked_overflow;

    char *manifest; /* contents of the last assets/manifest entry */
    size_t manifest_len;
    bool have_manifest;
    bool manifest_regular; /* the last assets/manifest entry was a regular file */
    bool manifest_too_big;
};

/* ---- the file stream ----------------------------------------------------------------- */

/* Keeps the unread bytes and reads more after them. *got: bytes added. */
static int src_fill(struct inspector *in, size_t *got)
{
    struct src *s = &in->src;
    *got = 0;
    if (s->pos > 0) {
        memmove(s->buf, s->buf + s->pos, s->len - s->pos);
        s->base += s->pos;
        s->len -= s->pos;
        s->pos = 0;
    }
    if (s->eof || s->len == CHUNK)
        return 0;
    size_t want = CHUNK - s->len;
    int r = read_full(s->fd, s->buf + s->len, want, got, in->err, s->path);
    if (r < 0)
        return r;
    s->len += *got;
    if (*got < want)
        s->eof = true;
    return 0;
}

/* Makes at least n bytes (n <= CHUNK) available unless the file ends first. */
static int src_need(struct inspector *in, size_t n)
{
    while (in->src.len - in->src.pos < n && !in->src.eof) {
        size_t got;
        int r = src_fill(in, &got);
        if (r < 0)
            return r;
    }
    return 0;
}

static uint64_t src_offset(const struct src *s)
{
    return s->base + s->pos;
}

/* ---- decompression ------------------------------------------------------------------- */

/* One decompression step into outbuf: consumes what input is buffered (reading more when
 * none is), sets *produced and in->ended. */
static int decomp_step(struct inspector *in, size_t *produced)
{
    struct src *s = &in->src;
    *produced = 0;
    if (s->pos == s->len) {
        size_t got;
        int r = src_fill(in, &got);
        if (r < 0)
            return r;
        if (s->pos == s->len)
            return evm_errf(in->err, EINVAL,
                            "member %u at offset %" PRIu64
                            ": %s stream truncated at end of file (offset %" PRIu64 ")",
                            in->index, in->offset, comp_name(in->comp), src_offset(s));
    }
    size_t avail = s->len - s->pos;
    if (in->comp == COMP_GZIP) {
        in->z.next_in = s->buf + s->pos;
        in->z.avail_in = (uInt)avail;
        in->z.next_out = in->outbuf;
        in->z.avail_out = CHUNK;
        int zr = inflate(&in->z, Z_NO_FLUSH);
        s->pos += avail - in->z.avail_in;
        *produced = CHUNK - in->z.avail_out;
        if (zr == Z_STREAM_END) {
            in->ended = true;
            return 0;
        }
        if (zr == Z_OK || zr == Z_BUF_ERROR)
            return 0;
        if (zr == Z_MEM_ERROR)
            return evm_errf(in->err, ENOMEM, "out of memory in zlib");
        return evm_errf(in->err, EINVAL,
                        "member %u at offset %" PRIu64 ": corrupt gzip data near offset %" PRIu64
                        ": %s",
                        in->index, in->offset, src_offset(s), in->z.msg ? in->z.msg : "error");
    }
    ZSTD_inBuffer ib = {s->buf + s->pos, avail, 0};
    ZSTD_outBuffer ob = {in->outbuf, CHUNK, 0};
    size_t zr = ZSTD_decompressStream(in->zs, &ob, &ib);
    s->pos += ib.pos;
    *produced = ob.pos;
    if (ZSTD_isError(zr))
        return evm_errf(in->err, EINVAL,
                        "member %u at offset %" PRIu64 ": corrupt zstd data near offset %" PRIu64
                        ": %s",
                        in->index, in->offset, src_offset(s), ZSTD_getErrorName(zr));
    if (zr == 0)
        in->ended = true;
    return 0;
}

/* libarchive's read callback: the decompressed (or raw) bytes of the current member. The
 * block handed out stays valid until the next call, as libarchive requires. */
static la_ssize_t member_read(struct archive *a, void *ctx, const void **buf)
{
    (void)a;
    struct inspector *in = ctx;
    struct src *s = &in->src;
    in->last_len = 0;
    if (in->comp == COMP_NONE) {
        if (s->pos == s->len) {
            size_t got;
            int r = src_fill(in, &got);
            if (r < 0) {
                in->cb_err = r;
                return -1;
            }
        }
        *buf = s->buf + s->pos;
        in->last_len = s->len - s->pos;
        s->pos = s->len;
        in->produced += in->last_len;
        return (la_ssize_t)in->last_len;
    }
    while (!in->ended) {
        size_t produced;
        int r = decomp_step(in, &produced);
        if (r < 0) {
            in->cb_err = r;
            return -1;
        }
        if (produced > 0) {
            *buf = in->outbuf;
            in->last_len = produced;
            in->produced += produced;
            return (la_ssize_t)produced;
        }
    }
    return 0;
}

/* ---- entries ------------------------------------------------------------------------- */

/* Prints s with control bytes, backslashes and DEL escaped (names are untrusted). */
static void put_escaped(FILE *out, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c < 0x20 || c == 0x7f || c == '\\')
            fprintf(out, "\\x%02x", c);
        else
            fputc(c, out);
    }
}

static const char *type_name(unsigned mode)
{
    switch (mode & AE_IFMT) {
    case AE_IFREG:
        return "file";
    case AE_IFDIR:
        return "dir";
    case AE_IFLNK:
        return "symlink";
    case AE_IFCHR:
        return "chardev";
    case AE_IFBLK:
        return "blockdev";
    case AE_IFIFO:
        return "fifo";
    case AE_IFSOCK:
        return "socket";
    default:
        return "unknown";
    }
}

/* The path the kernel creates: cpio names are relative to the root, so "./a", "/a" and
 * "a" are the same file. */
static const char *normalize(const char *name)
{
    for (;;) {
        if (name[0] == '/')
            name++;
        else if (name[0] == '.' && name[1] == '/')
            name += 2;
        else
            return name;
    }
}

static bool under_tail_dir(const char *p)
{
    size_t n = strlen(TAIL_DIR);
    return strncmp(p, TAIL_DIR, n) == 0 && p[n] == '/' && p[n + 1] != '\0';
}

static struct tracked *track(struct inspector *in, const char *path)
{
    if (strlen(path) >= MANIFEST_PATH_MAX)
        return NULL;
    for (size_t i = 0; i < in->ntracked; i++)
        if (strcmp(in->tracked[i].path, path) == 0)
            return &in->tracked[i];
    if (in->ntracked == MAX_TRACKED) {
        in->tracked_overflow = true;
        return NULL;
    }
    struct tracked *t = &in->tracked[in->ntracked++];
    memset(t, 0, sizeof(*t));
    memcpy(t->path, path, strlen(path) + 1);
    return t;
}

static const struct tracked *find_tracked(const struct inspector *in, const char *path)
{
    for (size_t i = 0; i < in->ntracked; i++)
        if (strcmp(in->tracked[i].path, path) == 0)
            return &in->tracked[i];
    return NULL;
}

static int archive_fail(struct inspector *in, struct archive *a, const char *what)
{
    if (in->cb_err < 0)
        return in->cb_err; /* the callback's message already names the member */
    const char *msg = archive_error_string(a);
    return evm_errf(in->err, EINVAL, "member %u at offset %" PRIu64 ": %s: %s", in->index,
                    in->offset, what, msg ? msg : "libarchive error");
}

/* Reads (and hashes) one entry's data; captures it when it is the manifest. */
static int read_entry_data(struct inspector *in, struct archive *a, const char *path, unsigned mode,
                           int64_t declared)
{
    bool regular = (mode & AE_IFMT) == AE_IFREG;
    bool is_manifest = strcmp(path, TAIL_MANIFEST) == 0;
    struct tracked *t = under_tail_dir(path) ? track(in, path) : NULL;

    if (is_manifest) {
        in->have_manifest = true;
        in->manifest_regular = regular;
        in->manifest_too_big = regular && declared > (int64_t)MANIFEST_MAX_BYTES;
        in->manifest_len = 0;
    }
    if (!t && !is_manifest) {
        if (archive_read_data_skip(a) != ARCHIVE_OK)
            return archive_fail(in, a, "reading entry data");
        return 0;
    }

    struct digest d;
    digest_init(&d);
    uint64_t total = 0;
    for (;;) {
        const void *block;
        size_t size;
        la_int64_t off;
        int r = archive_read_data_block(a, &block, &size, &off);
        if (r == ARCHIVE_EOF)
            break;
        if (r < ARCHIVE_WARN)
            return archive_fail(in, a, "reading entry data");
        digest_update(&d, block, size);
        if (is_manifest && !in->manifest_too_big) {
            if (size > MANIFEST_MAX_BYTES - in->manifest_len) {
                in->manifest_too_big = true;
            } else {
                memcpy(in->manifest + in->manifest_len, block, size);
                in->manifest_len += size;
            }
        }
        total += size;
    }
    if (t) {
        t->mode = mode;
        t->size = total;
        digest_final(&d, t->sha256);
    }
    return 0;
}

static void print_entry(struct inspector *in, struct archive_entry *e, const char *name)
{
    unsigned mode = (unsigned)archive_entry_mode(e);
    fprintf(in->out, "  %07o %-8s uid %-5" PRId64 " gid %-5" PRId64 " size %-10" PRId64 " ", mode,
            type_name(mode), (int64_t)archive_entry_uid(e), (int64_t)archive_entry_gid(e),
            (int64_t)archive_entry_size(e));
    put_escaped(in->out, name);
    const char *link = archive_entry_symlink(e);
    if (link) {
        fputs(" -> ", in->out);
        put_escaped(in->out, link);
    }
    link = archive_entry_hardlink(e);
    if (link) {
        fputs(" (hard link to ", in->out);
        put_escaped(in->out, link);
        fputc(')', in->out);
    }
    fputc('\n', in->out);
}

/* Bytes handed to libarchive but not consumed by it when it stopped at TRAILER!!!: they
 * are the tail of the last block (libarchive copies only what a read-ahead needs). */
static int unconsumed_tail(struct inspector *in, struct archive *a, size_t *n)
{
    int64_t consumed = archive_filter_bytes(a, 0);
    if (consumed < 0 || (uint64_t)consumed > in->produced ||
        in->produced - (uint64_t)consumed > in->last_len)
        return evm_errf(in->err, EIO,
                        "member %u at offset %" PRIu64
                        ": cannot locate the end of the cpio archive (consumed %" PRId64
                        " of %" PRIu64 " bytes)",
                        in->index, in->offset, consumed, in->produced);
    *n = (size_t)(in->produced - (uint64_t)consumed);
    return 0;
}

static bool all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return false;
    return true;
}

/* After TRAILER!!! a compressed stream may only hold zero padding up to its end. */
static int finish_compressed(struct inspector *in, struct archive *a)
{
    size_t left;
    int r = unconsumed_tail(in, a, &left);
    if (r < 0)
        return r;
    bool zero = all_zero(in->outbuf + (in->last_len - left), left);
    while (zero && !in->ended) {
        size_t produced;
        r = decomp_step(in, &produced);
        if (r < 0)
            return r;
        in->produced += produced;
        zero = all_zero(in->outbuf, produced);
    }
    if (!zero)
        return evm_errf(in->err, ENOTSUP,
                        "member %u at offset %" PRIu64 ": %s stream holds data after TRAILER!!! "
                        "(a second archive in one compressed stream is not supported)",
                        in->index, in->offset, comp_name(in->comp));
    return 0;
}

static int check_format(struct inspector *in, struct archive *a)
{
    int f = archive_format(a);
    if (f == ARCHIVE_FORMAT_CPIO_SVR4_NOCRC || f == ARCHIVE_FORMAT_CPIO_SVR4_CRC)
        return 0;
    return evm_errf(in->err, EINVAL,
                    "member %u at offset %" PRIu64 ": %s cpio is not newc (the kernel unpacks "
                    "only newc)",
                    in->index, in->offset, archive_format_name(a));
}

/* Parses the current member's cpio with libarchive, printing and tracking its entries. */
static int read_member_cpio(struct inspector *in, unsigned *nentries)
{
    struct archive *a = archive_read_new();
    if (!a)
        return evm_errf(in->err, ENOMEM, "out of memory");
    int r = 0;
    if (archive_read_support_format_cpio(a) != ARCHIVE_OK ||
        archive_read_support_filter_none(a) != ARCHIVE_OK ||
        archive_read_open(a, in, NULL, member_read, NULL) != ARCHIVE_OK) {
        r = archive_fail(in, a, "opening cpio");
        goto out;
    }
    for (;;) {
        struct archive_entry *e;
        int ar = archive_read_next_header(a, &e);
        if (ar == ARCHIVE_EOF)
            break;
        if (ar < ARCHIVE_WARN) {
            r = archive_fail(in, a, "reading cpio header");
            goto out;
        }
        r = check_format(in, a);
        if (r < 0)
            goto out;
        const char *name = archive_entry_pathname(e);
        if (!name)
            name = "";
        print_entry(in, e, name);
        (*nentries)++;
        r = read_entry_data(in, a, normalize(name), (unsigned)archive_entry_mode(e),
                            archive_entry_size(e));
        if (r < 0)
            goto out;
    }
    if (in->comp == COMP_NONE) {
        size_t left;
        r = unconsumed_tail(in, a, &left);
        if (r == 0) {
            in->src.pos -= left; /* the next member starts right after TRAILER!!! */
            in->produced -= left;
        }
    } else {
        r = finish_compressed(in, a);
    }
out:
    archive_read_free(a);
    return r;
}

static int member_start(struct inspector *in)
{
    in->produced = 0;
    in->last_len = 0;
    in->ended = false;
    in->cb_err = 0;
    if (in->comp == COMP_GZIP) {
        memset(&in->z, 0, sizeof(in->z));
        if (inflateInit2(&in->z, 16 + MAX_WBITS) != Z_OK)
            return evm_errf(in->err, ENOMEM, "zlib: cannot initialise");
        in->z_live = true;
    } else if (in->comp == COMP_ZSTD) {
        if (!in->zs) {
            in->zs = ZSTD_createDStream();
            if (!in->zs)
                return evm_errf(in->err, ENOMEM, "zstd: cannot create a decompressor");
        }
        size_t zr = ZSTD_initDStream(in->zs);
        if (ZSTD_isError(zr))
            return evm_errf(in->err, ENOMEM, "zstd: %s", ZSTD_getErrorName(zr));
    }
    return 0;
}

static void member_end(struct inspector *in)
{
    if (in->z_live) {
        inflateEnd(&in->z);
        in->z_live = false;
    }
}

/* What the bytes at the current position are; NULL name when unknown. */
static int classify(const struct src *s, enum comp *c, const char **hint)
{
    const uint8_t *p = s->buf + s->pos;
    size_t n = s->len - s->pos;
    uint64_t off = src_offset(s);
    *hint = NULL;
    if (n >= 6 && (memcmp(p, "070701", 6) == 0 || memcmp(p, "070702", 6) == 0)) {
        if (off % TAIL_ALIGN == 0) {
            *c = COMP_NONE;
            return 0;
        }
        *hint = "a cpio header at an offset that is not 4-byte aligned";
        return -1;
    }
    if (n >= 2 && p[0] == 0x1f && p[1] == 0x8b) {
        *c = COMP_GZIP;
        return 0;
    }
    if (n >= 4 && p[0] == 0x28 && p[1] == 0xb5 && p[2] == 0x2f && p[3] == 0xfd) {
        *c = COMP_ZSTD;
        return 0;
    }
    if (n >= 6 && memcmp(p, "070707", 6) == 0)
        *hint = "an odc cpio header; the kernel unpacks only newc";
    else if (n >= 6 && memcmp(p,
                              "\xfd"
                              "7zXZ\0",
                              6) == 0)
        *hint = "xz data; inspect reads only gzip and zstd";
    else if (n >= 3 && memcmp(p, "BZh", 3) == 0)
        *hint = "bzip2 data; inspect reads only gzip and zstd";
    else if (n >= 4 && memcmp(p, "\x02\x21\x4c\x18", 4) == 0)
        *hint = "lz4 data; inspect reads only gzip and zstd";
    return -1;
}

/* Walks every member; stops at the first malformed one. */
static int walk(struct inspector *in, unsigned *nmembers)
{
    struct src *s = &in->src;
    for (;;) {
        /* Zero bytes between members are skipped, as the kernel does. */
        for (;;) {
            while (s->pos < s->len && s->buf[s->pos] == 0)
                s->pos++;
            if (s->pos < s->len || s->eof)
                break;
            size_t got;
            int r = src_fill(in, &got);
            if (r < 0)
                return r;
        }
        int r = src_need(in, 6);
        if (r < 0)
            return r;
        if (s->pos == s->len)
            return 0;

        const char *hint;
        in->offset = src_offset(s);
        if (classify(s, &in->comp, &hint) < 0) {
            fprintf(in->out, "unknown data at offset %" PRIu64 "%s%s%s\n", in->offset,
                    hint ? " (" : "", hint ? hint : "", hint ? ")" : "");
            return evm_errf(in->err, EINVAL, "unknown data at offset %" PRIu64 "%s%s%s", in->offset,
                            hint ? " (" : "", hint ? hint : "", hint ? ")" : "");
        }
        in->index = *nmembers;
        fprintf(in->out, "member %u: offset %" PRIu64 ", %s\n", in->index, in->offset,
                comp_name(in->comp));
        unsigned nentries = 0;
        r = member_start(in);
        if (r == 0)
            r = read_member_cpio(in, &nentries);
        member_end(in);
        if (r < 0) {
            fprintf(in->out, "error: %s\n", in->err ? in->err->msg : "malformed member");
            return r;
        }
        uint64_t end = src_offset(s);
        fprintf(in->out,
                "member %u: length %" PRIu64 " bytes (offset %" PRIu64 " to %" PRIu64
                "), %u entries, %" PRIu64 " bytes of cpio\n",
                in->index, end - in->offset, in->offset, end, nentries, in->produced);
        (*nmembers)++;
    }
}

/* ---- the manifest check ---------------------------------------------------------------- */

struct summary {
    char text[400];
    size_t len;
    unsigned bad;
};

static void summary_add(struct summary *s, const char *path, const char *what)
{
    s->bad++;
    if (s->len >= sizeof(s->text))
        return;
    int n = snprintf(s->text + s->len, sizeof(s->text) - s->len, "%s%s (%s)", s->len ? ", " : "",
                     path, what);
    if (n < 0 || (size_t)n >= sizeof(s->text) - s->len) {
        s->len = sizeof(s->text);
        memcpy(s->text + sizeof(s->text) - 5, "...", 4);
    } else {
        s->len += (size_t)n;
    }
}

/* Compares one listed file with what the archive holds; prints its line. */
static void check_listed(struct inspector *in, const struct manifest_file *f, struct summary *sum)
{
    FILE *out = in->out;
    const struct tracked *t = under_tail_dir(f->path) ? find_tracked(in, f->path) : NULL;
    char want_hex[DIGEST_HEX_LEN + 1];
    hex_encode(f->sha256, DIGEST_LEN, want_hex);

    fprintf(out, "  %s: ", f->path);
    if (!under_tail_dir(f->path)) {
        fputs("MISMATCH: not under " TAIL_DIR "/ (not checked)\n", out);
        summary_add(sum, f->path, "outside " TAIL_DIR "/");
        return;
    }
    if (!t) {
        if (in->tracked_overflow)
            fputs("MISMATCH: not checked (too many entries under " TAIL_DIR "/)\n", out);
        else
            fputs("MISMATCH: missing\n", out);
        summary_add(sum, f->path, "missing");
        return;
    }
    if ((t->mode & AE_IFMT) != AE_IFREG) {
        fprintf(out, "MISMATCH: a %s, not a regular file\n", type_name(t->mode));
        summary_add(sum, f->path, "not a regular file");
        return;
    }
    char what[64] = "";
    bool bad = false;
    char line[512];
    int n = 0;
    line[0] = '\0';
    if (t->size != f->size) {
        n += snprintf(line + n, sizeof(line) - (size_t)n,
                      "%ssize %" PRIu64 " (manifest %" PRIu64 ")", bad ? ", " : "", t->size,
                      f->size);
        strcat(what, bad ? "/size" : "size");
        bad = true;
    }
    if ((t->mode & 07777u) != f->mode) {
        n += snprintf(line + n, sizeof(line) - (size_t)n, "%smode %04o (manifest %04o)",
                      bad ? ", " : "", t->mode & 07777u, f->mode);
        strcat(what, bad ? "/mode" : "mode");
        bad = true;
    }
    if (memcmp(t->sha256, f->sha256, DIGEST_LEN) != 0) {
        char have_hex[DIGEST_HEX_LEN + 1];
        hex_encode(t->sha256, DIGEST_LEN, have_hex);
        n += snprintf(line + n, sizeof(line) - (size_t)n, "%ssha256 %s (manifest %s)",
                      bad ? ", " : "", have_hex, want_hex);
        strcat(what, bad ? "/sha256" : "sha256");
        bad = true;
    }
    if (bad) {
        fprintf(out, "MISMATCH: %s\n", line);
        summary_add(sum, f->path, what);
    } else {
        fprintf(out, "OK (%04o, %" PRIu64 " bytes, sha256 %s)\n", f->mode, f->size, want_hex);
    }
}

/* Prints the manifest report; 0 when it matches (or there is none), -EBADMSG otherwise. */
static int check_manifest(struct inspector *in, bool *ok)
{
    FILE *out = in->out;
    if (!in->have_manifest) {
        fputs("manifest: none\n", out);
        return 0;
    }
    const char *why = !in->manifest_regular  ? "not a regular file"
                      : in->manifest_too_big ? "larger than the manifest size limit"
                                             : NULL;
    struct manifest m;
    struct evm_err perr = {0};
    if (!why && manifest_parse(in->manifest, in->manifest_len, &m, &perr) < 0)
        why = perr.msg;
    if (why) {
        fprintf(out, "manifest: MISMATCH: " TAIL_MANIFEST " is invalid: %s\n", why);
        return evm_errf(in->err, EBADMSG, TAIL_MANIFEST " is invalid: %s", why);
    }

    fprintf(out, "manifest: boot-id %s, %zu files\n", m.boot_id, m.nfiles);
    struct summary sum = {.len = 0, .bad = 0};
    for (size_t i = 0; i < m.nfiles; i++)
        check_listed(in, &m.files[i], &sum);
    static const char *const tail_files[] = {TAIL_CONFIG, TAIL_BINARY};
    for (size_t i = 0; i < sizeof(tail_files) / sizeof(tail_files[0]); i++) {
        if (find_tracked(in, tail_files[i]) && !manifest_find(&m, tail_files[i])) {
            fprintf(out, "  %s: MISMATCH: present but not listed in the manifest\n", tail_files[i]);
            summary_add(&sum, tail_files[i], "not listed");
        }
    }
    if (sum.bad) {
        fprintf(out, "manifest: MISMATCH: %s\n", sum.text);
        return evm_errf(in->err, EBADMSG, "manifest mismatch: %s", sum.text);
    }
    fprintf(out, "manifest: OK (boot-id %s, %zu files)\n", m.boot_id, m.nfiles);
    *ok = true;
    return 0;
}

/* ---- entry point ----------------------------------------------------------------------- */

/* A file without a single member (empty, or only zero bytes) is no initrd: the kernel
 * would unpack nothing from it. */
static int no_member(struct inspector *in)
{
    uint64_t size = src_offset(&in->src);
    if (size == 0)
        return evm_errf(in->err, EINVAL, "%s: empty file, not an initrd", in->src.path);
    return evm_errf(in->err, EINVAL, "%s: no member, only %" PRIu64 " zero bytes", in->src.path,
                    size);
}

int inspect_initrd(const char *path, FILE *out, bool *manifest_ok, struct evm_err *err)
{
    if (manifest_ok)
        *manifest_ok = false;
    if (!path || !out)
        return evm_errf(err, EINVAL, "inspect_initrd: invalid arguments");

    struct inspector in;
    memset(&in, 0, sizeof(in));
    in.out = out;
    in.err = err;
    in.src.fd = -1;
    in.src.path = path;

    int r = open_regular_file(path, &in.src.fd, NULL, err);
    if (r < 0)
        return r;
    in.src.buf = malloc(CHUNK);
    in.outbuf = malloc(CHUNK);
    in.manifest = malloc(MANIFEST_MAX_BYTES);
    in.tracked = calloc(MAX_TRACKED, sizeof(*in.tracked));
    if (!in.src.buf || !in.outbuf || !in.manifest || !in.tracked) {
        r = evm_errf(err, ENOMEM, "out of memory");
        goto out;
    }

    fprintf(out, "%s\n", path);
    unsigned nmembers = 0;
    int walk_r = walk(&in, &nmembers);
    if (walk_r == 0)
        fprintf(out, "%u members, %" PRIu64 " bytes\n", nmembers, src_offset(&in.src));
    if (walk_r == 0 && nmembers == 0)
        walk_r = no_member(&in);

    /* The kernel keeps what it unpacked before a malformed member, so the manifest is
     * still checked; the walk's error wins. */
    bool ok = false;
    struct evm_err merr = {0};
    in.err = walk_r < 0 ? &merr : err;
    r = check_manifest(&in, &ok);
    if (walk_r < 0)
        r = walk_r;
    if (manifest_ok)
        *manifest_ok = ok;
    if (fflush(out) != 0 || ferror(out))
        if (r == 0)
            r = evm_errf(err, EIO, "writing the report failed");

out:
    if (in.zs)
        ZSTD_freeDStream(in.zs);
    free(in.tracked);
    free(in.manifest);
    free(in.outbuf);
    free(in.src.buf);
    if (in.src.fd >= 0)
        close(in.src.fd);
    return r;
}
