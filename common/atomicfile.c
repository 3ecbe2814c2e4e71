/* atomicfile.c — atomic file replacement: the portable part (bookkeeping, padding, hashing,
 * best-effort files, the failure-injection hook, matching temporary-file names for the
 * sweep). The platform does the create/sync/rename/remove work. */
#include "atomicfile.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "atomicfile_plat.h"
#include "digest.h"
#include "log.h"

/* What af->head points to: the platform's background job, and whether the injected failure
 * point falls inside the copy (reported when it is waited for, as a real failure would be). */
struct head {
    void *job;
    int injected;
};

int atomicfile_check_dst(const char *dst, struct evm_err *err)
{
    size_t n = dst ? strlen(dst) : 0;
    if (n == 0)
        return evm_errf(err, EINVAL, "\"\": an empty file name");
    if (dst[n - 1] == '/' || dst[n - 1] == '\\')
        return evm_errf(err, EISDIR, "%s: a directory name, not a file name", dst);
    if (afplat_path_kind(dst) == 2)
        return evm_errf(err, EISDIR, "%s: a directory", dst);
    const char *a = strrchr(dst, '/'), *b = strrchr(dst, '\\');
    const char *sep = a > b ? a : b;
    if (!sep || sep == dst || sep[-1] == ':')
        return 0; /* the working directory, or a root */
    char *dir = malloc((size_t)(sep - dst) + 1);
    if (!dir)
        return evm_errf(err, ENOMEM, "out of memory");
    memcpy(dir, dst, (size_t)(sep - dst));
    dir[sep - dst] = '\0';
    int r = afplat_path_kind(dir) == 2 ? 0 : evm_errf(err, ENOENT, "%s: no directory %s", dst, dir);
    free(dir);
    return r;
}

int atomicfile_open(struct atomicfile *af, const char *dst, struct evm_err *err)
{
    memset(af, 0, sizeof(*af));
    af->fd = -1;
    af->dst = strdup(dst);
    if (!af->dst)
        return evm_errf(err, ENOMEM, "out of memory");
    int r = afplat_create_temp(dst, &af->fd, &af->tmp, err);
    if (r < 0) {
        free(af->dst);
        af->dst = NULL;
        af->fd = -1;
    }
    return r;
}

/* How much of len may be written before the injected failure point. */
static int injected_limit(struct atomicfile *af, uint64_t len, uint64_t *allowed)
{
    *allowed = len;
    if (af->fail_after == 0 || af->written + len <= af->fail_after)
        return 0;
    *allowed = af->fail_after > af->written ? af->fail_after - af->written : 0;
    return -ENOSPC;
}

static int injected(struct atomicfile *af, struct evm_err *err)
{
    return evm_errf(err, ENOSPC, "writing %s: No space left on device (injected)", af->tmp);
}

/* A best-effort file that already failed: writes do nothing. */
static bool given_up(const struct atomicfile *af)
{
    return af->best_effort && af->best_effort->code != 0;
}

/* The error to fill for a write: a best-effort file's failure goes to a scratch error and
 * then to *best_effort, never to the caller's. */
static struct evm_err *write_err(struct atomicfile *af, struct evm_err *scratch,
                                 struct evm_err *err)
{
    evm_err_clear(scratch);
    return af->best_effort ? scratch : err;
}

static int head_wait(struct atomicfile *af, struct evm_err *err);

/* A write or copy failed with r (e filled): remembered in write_error. A best-effort file
 * keeps the failure in *best_effort, drops its temporary file now and lets the caller go
 * on; any other file returns r. */
static int write_failed(struct atomicfile *af, int r, struct evm_err *e)
{
    if (af->write_error == 0)
        af->write_error = r;
    if (!af->best_effort)
        return r;
    *af->best_effort = *e;
    head_wait(af, NULL);
    afplat_discard(af->fd, af->tmp);
    af->fd = -1;
    free(af->tmp);
    af->tmp = NULL;
    return 0;
}

static int check_writable(struct atomicfile *af, struct evm_err *err)
{
    if (af->fd < 0)
        return evm_errf(err, EBADF, "%s: write after close", af->dst ? af->dst : "?");
    return 0;
}

int atomicfile_write(struct atomicfile *af, const void *buf, size_t len, struct evm_err *err)
{
    if (given_up(af))
        return 0;
    int r = check_writable(af, err);
    if (r < 0)
        return r;
    struct evm_err scratch;
    struct evm_err *e = write_err(af, &scratch, err);
    uint64_t allowed;
    int inj = injected_limit(af, len, &allowed);
    r = afplat_write(af->fd, buf, (size_t)allowed, e);
    if (r < 0)
        return write_failed(af, evm_err_wrap(e, "writing %s", af->tmp), e);
    if (af->digest)
        digest_update(af->digest, buf, (size_t)allowed);
    af->written += allowed;
    if (inj < 0)
        return write_failed(af, injected(af, e), e);
    return 0;
}

int atomicfile_copy_from(struct atomicfile *af, int src_fd, uint64_t len, struct evm_err *err)
{
    if (given_up(af))
        return 0;
    int r = check_writable(af, err);
    if (r < 0)
        return r;
    if (af->digest)
        return evm_errf(err, EINVAL, "%s: a hashed file takes writes only", af->dst);
    struct evm_err scratch;
    struct evm_err *e = write_err(af, &scratch, err);
    uint64_t allowed;
    int inj = injected_limit(af, len, &allowed);
    r = afplat_copy(af->fd, src_fd, allowed, e);
    if (r < 0)
        return write_failed(af, evm_err_wrap(e, "writing %s", af->tmp), e);
    af->written += allowed;
    if (inj < 0)
        return write_failed(af, injected(af, e), e);
    return 0;
}

int atomicfile_copy_head(struct atomicfile *af, int src_fd, uint64_t len, struct evm_err *err)
{
    if (af->fd < 0 || af->written != 0 || af->head || af->digest || af->best_effort)
        return evm_errf(err, EINVAL, "%s: head copy must come first", af->dst ? af->dst : "?");
    struct head *h = calloc(1, sizeof(*h));
    if (!h)
        return evm_errf(err, ENOMEM, "out of memory");
    uint64_t allowed;
    h->injected = injected_limit(af, len, &allowed) < 0;
    int r = afplat_head_start(af->fd, src_fd, allowed, &h->job, err);
    if (r < 0) {
        free(h);
        af->write_error = evm_err_wrap(err, "writing %s", af->tmp);
        return af->write_error;
    }
    af->head = h;
    af->written = len;
    return 0;
}

/* Waits for the head copy; its failure (or the injected one) names the temporary file. */
static int head_wait(struct atomicfile *af, struct evm_err *err)
{
    struct head *h = af->head;
    if (!h)
        return 0;
    af->head = NULL;
    struct evm_err e = {0};
    int r = afplat_head_wait(h->job, &e);
    if (r == 0 && h->injected)
        r = evm_errf(&e, ENOSPC, "No space left on device (injected)");
    free(h);
    if (r == 0)
        return 0;
    r = evm_err_wrap(&e, "writing %s", af->tmp ? af->tmp : "?");
    if (af->write_error == 0)
        af->write_error = r;
    if (err)
        *err = e;
    return r;
}

int atomicfile_wait_head(struct atomicfile *af, struct evm_err *err)
{
    return head_wait(af, err);
}

int atomicfile_pad(struct atomicfile *af, unsigned align, struct evm_err *err)
{
    static const unsigned char zeros[64];
    if (align == 0 || align > sizeof(zeros))
        return evm_errf(err, EINVAL, "bad alignment %u", align);
    size_t pad = (size_t)((align - af->written % align) % align);
    return pad ? atomicfile_write(af, zeros, pad, err) : 0;
}

static void release(struct atomicfile *af)
{
    af->fd = -1;
    free(af->tmp);
    free(af->dst);
    af->tmp = af->dst = NULL;
}

int atomicfile_commit(struct atomicfile *af, struct evm_err *err)
{
    if (given_up(af)) {
        int code = af->best_effort->code;
        if (err)
            *err = *af->best_effort;
        release(af);
        return -code;
    }
    if (af->fd < 0)
        return evm_errf(err, EBADF, "%s: commit after close", af->dst ? af->dst : "?");
    int r = head_wait(af, err);
    if (r < 0) {
        atomicfile_abort(af);
        return r;
    }
    int fd = af->fd;
    af->fd = -1;
    r = afplat_commit(fd, af->tmp, af->dst, err);
    if (r < 0)
        afplat_discard(-1, af->tmp);
    release(af);
    return r;
}

void atomicfile_abort(struct atomicfile *af)
{
    head_wait(af, NULL);
    if (af->tmp)
        afplat_discard(af->fd, af->tmp);
    release(af);
}

/* ---- the sweep ------------------------------------------------------------------------ */

bool atomicfile_is_temp_name(const char *name, size_t *stem_len)
{
    size_t n = strlen(name), mark = strlen(ATOMICFILE_TMP_MARK);
    size_t tail = mark + ATOMICFILE_TMP_HEX;
    if (n <= tail || memcmp(name + n - tail, ATOMICFILE_TMP_MARK, mark) != 0)
        return false;
    for (const char *p = name + n - ATOMICFILE_TMP_HEX; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
            return false;
    if (stem_len)
        *stem_len = n - tail;
    return true;
}

struct sweep {
    const char *dir;
    atomicfile_stem_fn match;
    void *ctx;
    int removed;
};

static char *join(const char *dir, const char *name, size_t name_len)
{
    size_t d = strlen(dir);
    char *p = malloc(d + name_len + 2);
    if (p) {
        memcpy(p, dir, d);
        p[d] = '/';
        memcpy(p + d + 1, name, name_len);
        p[d + 1 + name_len] = '\0';
    }
    return p;
}

static int sweep_name(const char *name, void *vctx)
{
    struct sweep *s = vctx;
    size_t stem_len;
    if (!atomicfile_is_temp_name(name, &stem_len))
        return 0;
    char *stem = malloc(stem_len + 1);
    if (!stem)
        return 0;
    memcpy(stem, name, stem_len);
    stem[stem_len] = '\0';
    bool ours = s->match(stem, s->ctx);
    free(stem);
    char *path = ours ? join(s->dir, name, strlen(name)) : NULL;
    if (!path)
        return 0;
    uint64_t size = 0;
    const char *why = "?";
    int r = afplat_sweep_one(path, &size, &why);
    if (r > 0) {
        log_info("removed %s (%llu bytes), left by an interrupted write", path,
                 (unsigned long long)size);
        s->removed++;
    } else if (r == 0) {
        log_debug("left %s in place: %s", path, why);
    } else {
        log_warn("cannot remove %s, left by an interrupted write: %s", path, strerror(-r));
    }
    free(path);
    return 0;
}

int atomicfile_sweep(const char *dir, atomicfile_stem_fn match, void *ctx, struct evm_err *err)
{
    struct sweep s = {.dir = dir, .match = match, .ctx = ctx};
    int r = afplat_list(dir, sweep_name, &s, err);
    if (r == -ENOENT)
        return 0;
    return r < 0 ? r : s.removed;
}

static bool same_stem(const char *stem, void *ctx)
{
    return strcmp(stem, (const char *)ctx) == 0;
}

int atomicfile_sweep_dst(const char *dst, struct evm_err *err)
{
    const char *a = strrchr(dst, '/'), *b = strrchr(dst, '\\');
    const char *sep = a > b ? a : b;
    const char *base = sep ? sep + 1 : dst;
    if (!*base)
        return evm_errf(err, EINVAL, "%s: not a file name", dst);
    /* The directory keeps its separator when it is a root ("/", "C:\\"). */
    size_t n = !sep                           ? 0
               : sep == dst || sep[-1] == ':' ? (size_t)(sep - dst) + 1
                                              : (size_t)(sep - dst);
    char *dir = n ? malloc(n + 1) : strdup(".");
    if (!dir)
        return evm_errf(err, ENOMEM, "out of memory");
    if (n) {
        memcpy(dir, dst, n);
        dir[n] = '\0';
    }
    int r = atomicfile_sweep(dir, same_stem, (void *)base, err);
    free(dir);
    return r;
}

int atomicfile_open_owned(const char *path, bool touch, int *fd, uint64_t *size,
                          struct evm_err *err)
{
    return afplat_open_owned(path, touch, fd, size, err);
}
