/* bootrecord.c — the boot initrd's record: canonical writer and strict parser.
 *
 *   ephemerd-boot-record 1
 *   base <dev> <ino_hi> <ino> <size> <mtime_ns> <ctime_ns>
 *   binary <dev> <ino_hi> <ino> <size> <mtime_ns> <ctime_ns>
 *   output <dev> <ino_hi> <ino> <size> <mtime_ns> <ctime_ns>
 *   compress zstd|gzip|none
 *   mtime <entry mtime>
 *   member-format <version>
 *   binary-sha256 <64 lowercase hex>
 *   binary-member <offset> <length>
 *   boot-member <offset>
 *   check <64 lowercase hex: SHA-256 of every byte above>
 *
 * Decimal numbers without sign or leading zeros (times may be negative), single spaces,
 * every line ending in '\n', nothing after the check line. */
#include "initrd/bootrecord.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "tail.h"

#define MAGIC "ephemerd-boot-record"
#define MAX_FIELDS 7

static uint64_t align_up(uint64_t v)
{
    return (v + TAIL_ALIGN - 1) / TAIL_ALIGN * TAIL_ALIGN;
}

/* ---- writer -------------------------------------------------------------------------- */

struct out {
    char *buf;
    size_t cap, len;
    bool full;
};

static void put(struct out *o, const char *fmt, ...) EVM_PRINTF(2, 3);

static void put(struct out *o, const char *fmt, ...)
{
    if (o->full)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= o->cap - o->len)
        o->full = true;
    else
        o->len += (size_t)n;
}

static void put_id(struct out *o, const char *key, const struct file_id *id)
{
    put(o, "%s %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRId64 " %" PRId64 "\n", key,
        id->dev, id->ino_hi, id->ino, id->size, id->mtime_ns, id->ctime_ns);
}

static void put_hex(struct out *o, const char *key, const uint8_t d[DIGEST_LEN])
{
    char hex[DIGEST_HEX_LEN + 1];
    hex_encode(d, DIGEST_LEN, hex);
    put(o, "%s %s\n", key, hex);
}

int bootrecord_format(const struct bootrecord *r, char *buf, size_t cap, size_t *len,
                      struct evm_err *err)
{
    struct out o = {.buf = buf, .cap = cap};
    put(&o, "%s %d\n", MAGIC, BOOTRECORD_VERSION);
    put_id(&o, "base", &r->base);
    put_id(&o, "binary", &r->binary);
    put_id(&o, "output", &r->out);
    put(&o, "compress %s\n", compress_name(r->compress));
    put(&o, "mtime %" PRIu64 "\n", r->mtime);
    put(&o, "member-format %u\n", r->member_format);
    put_hex(&o, "binary-sha256", r->binary_sha256);
    put(&o, "binary-member %" PRIu64 " %" PRIu64 "\n", r->binary_member.offset,
        r->binary_member.length);
    put(&o, "boot-member %" PRIu64 "\n", r->boot_offset);
    if (!o.full) {
        uint8_t d[DIGEST_LEN];
        digest_buf(buf, o.len, d);
        put_hex(&o, "check", d);
    }
    if (o.full)
        return evm_errf(err, ENOSPC, "boot record: longer than %zu bytes", cap);
    *len = o.len;
    return 0;
}

/* ---- parser -------------------------------------------------------------------------- */

struct span {
    const char *p;
    size_t n;
};

struct cursor {
    const char *buf;
    size_t len, pos;
    const char *why; /* first failure */
};

/* The next line, split at single spaces: f[0] must be key and exactly nf values follow. */
static bool line(struct cursor *c, const char *key, struct span *f, int nf)
{
    if (c->why)
        return false;
    const char *start = c->buf + c->pos;
    const char *nl = memchr(start, '\n', c->len - c->pos);
    if (!nl) {
        c->why = "truncated";
        return false;
    }
    c->pos = (size_t)(nl - c->buf) + 1;
    struct span all[MAX_FIELDS + 1];
    int n = 0;
    const char *p = start;
    for (;;) {
        const char *sp = memchr(p, ' ', (size_t)(nl - p));
        const char *end = sp ? sp : nl;
        if (end == p || n == nf + 1) {
            c->why = "malformed line";
            return false;
        }
        all[n++] = (struct span){p, (size_t)(end - p)};
        if (!sp)
            break;
        p = sp + 1;
    }
    if (n != nf + 1 || all[0].n != strlen(key) || memcmp(all[0].p, key, all[0].n) != 0) {
        c->why = "unexpected line";
        return false;
    }
    memcpy(f, all + 1, (size_t)nf * sizeof(*f));
    return true;
}

static bool parse_u64(struct cursor *c, struct span s, uint64_t *out)
{
    uint64_t v = 0;
    bool ok = s.n > 0 && s.n <= 20 && !(s.n > 1 && s.p[0] == '0');
    for (size_t i = 0; ok && i < s.n; i++) {
        unsigned d = (unsigned)(s.p[i] - '0');
        ok = d <= 9 && v <= (UINT64_MAX - d) / 10;
        v = v * 10 + d;
    }
    if (!ok && !c->why)
        c->why = "bad number";
    *out = ok ? v : 0;
    return ok;
}

static bool parse_i64(struct cursor *c, struct span s, int64_t *out)
{
    bool neg = s.n > 1 && s.p[0] == '-';
    struct span d = neg ? (struct span){s.p + 1, s.n - 1} : s;
    uint64_t v = 0;
    bool ok = parse_u64(c, d, &v) && !(neg && v == 0) &&
              v <= (neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX);
    if (!ok && !c->why)
        c->why = "bad number";
    *out = !ok ? 0 : neg ? (v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v) : (int64_t)v;
    return ok;
}

static bool parse_hex(struct cursor *c, struct span s, uint8_t out[DIGEST_LEN])
{
    bool ok = s.n == DIGEST_HEX_LEN && hex_decode(s.p, s.n, out, DIGEST_LEN) == 0;
    for (size_t i = 0; ok && i < s.n; i++)
        ok = !(s.p[i] >= 'A' && s.p[i] <= 'F'); /* canonical: lowercase */
    if (!ok && !c->why)
        c->why = "bad digest";
    return ok;
}

static void parse_id(struct cursor *c, const char *key, struct file_id *id)
{
    struct span f[6];
    if (line(c, key, f, 6)) {
        parse_u64(c, f[0], &id->dev);
        parse_u64(c, f[1], &id->ino_hi);
        parse_u64(c, f[2], &id->ino);
        parse_u64(c, f[3], &id->size);
        parse_i64(c, f[4], &id->mtime_ns);
        parse_i64(c, f[5], &id->ctime_ns);
    }
}

static void parse_options(struct cursor *c, struct bootrecord *r)
{
    struct span f[2];
    char name[8];
    if (line(c, "compress", f, 1)) {
        snprintf(name, sizeof(name), "%.*s", (int)(f[0].n < 7 ? f[0].n : 7), f[0].p);
        if (f[0].n >= sizeof(name) || compress_parse(name, &r->compress) < 0)
            c->why = "unknown compression";
    }
    if (line(c, "mtime", f, 1))
        parse_u64(c, f[0], &r->mtime);
    uint64_t fmt = 0;
    if (line(c, "member-format", f, 1) && parse_u64(c, f[0], &fmt)) {
        if (fmt > UINT32_MAX)
            c->why = "bad number";
        r->member_format = (unsigned)fmt;
    }
}

static void parse_layout(struct cursor *c, struct bootrecord *r)
{
    struct span f[2];
    if (line(c, "binary-sha256", f, 1))
        parse_hex(c, f[0], r->binary_sha256);
    if (line(c, "binary-member", f, 2)) {
        parse_u64(c, f[0], &r->binary_member.offset);
        parse_u64(c, f[1], &r->binary_member.length);
    }
    if (line(c, "boot-member", f, 1))
        parse_u64(c, f[0], &r->boot_offset);
}

static void parse_check(struct cursor *c)
{
    size_t covered = c->pos;
    struct span f[1];
    uint8_t want[DIGEST_LEN], got[DIGEST_LEN];
    if (!line(c, "check", f, 1) || !parse_hex(c, f[0], want))
        return;
    digest_buf(c->buf, covered, got);
    if (memcmp(want, got, DIGEST_LEN) != 0)
        c->why = "checksum mismatch";
    else if (c->pos != c->len)
        c->why = "bytes after the check line";
}

/* The layout a full build writes: base ‖ pad ‖ binary member ‖ pad ‖ boot member. */
static const char *layout_error(const struct bootrecord *r)
{
    const struct bootinitrd_member *b = &r->binary_member;
    if (b->offset != align_up(r->base.size) || b->length == 0 || b->length > UINT64_MAX / 2 ||
        b->offset > UINT64_MAX / 2)
        return "binary member does not follow the base";
    if (r->boot_offset != align_up(b->offset + b->length))
        return "boot member does not follow the binary member";
    if (r->out.size <= r->boot_offset)
        return "output ends before its boot member";
    if (r->binary.size == 0)
        return "empty daemon binary";
    return NULL;
}

int bootrecord_parse(const char *buf, size_t len, struct bootrecord *r, struct evm_err *err)
{
    memset(r, 0, sizeof(*r));
    struct cursor c = {.buf = buf, .len = len};
    struct span f[1];
    uint64_t version = 0;
    if (line(&c, MAGIC, f, 1) && parse_u64(&c, f[0], &version) && version != BOOTRECORD_VERSION)
        c.why = "unknown version";
    parse_id(&c, "base", &r->base);
    parse_id(&c, "binary", &r->binary);
    parse_id(&c, "output", &r->out);
    parse_options(&c, r);
    parse_layout(&c, r);
    parse_check(&c);
    const char *why = c.why ? c.why : layout_error(r);
    if (why) {
        memset(r, 0, sizeof(*r));
        return evm_errf(err, EINVAL, "boot record: %s", why);
    }
    return 0;
}
