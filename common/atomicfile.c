/* atomicfile.c — atomic file replacement: the portable part (bookkeeping, padding, the
 * failure-injection hook). The platform does the create/sync/rename work. */
#include "atomicfile.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "atomicfile_plat.h"

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

int atomicfile_write(struct atomicfile *af, const void *buf, size_t len, struct evm_err *err)
{
    if (af->fd < 0)
        return evm_errf(err, EBADF, "%s: write after close", af->dst ? af->dst : "?");
    uint64_t allowed;
    int inj = injected_limit(af, len, &allowed);
    int r = afplat_write(af->fd, buf, (size_t)allowed, err);
    if (r < 0)
        return evm_err_wrap(err, "writing %s", af->tmp);
    af->written += allowed;
    if (inj < 0)
        return evm_errf(err, ENOSPC, "writing %s: No space left on device (injected)", af->tmp);
    return 0;
}

int atomicfile_copy_from(struct atomicfile *af, int src_fd, uint64_t len, struct evm_err *err)
{
    if (af->fd < 0)
        return evm_errf(err, EBADF, "%s: write after close", af->dst ? af->dst : "?");
    uint64_t allowed;
    int inj = injected_limit(af, len, &allowed);
    int r = afplat_copy(af->fd, src_fd, allowed, err);
    if (r < 0)
        return evm_err_wrap(err, "writing %s", af->tmp);
    af->written += allowed;
    if (inj < 0)
        return evm_errf(err, ENOSPC, "writing %s: No space left on device (injected)", af->tmp);
    return 0;
}

int atomicfile_copy_head(struct atomicfile *af, int src_fd, uint64_t len, struct evm_err *err)
{
    if (af->fd < 0 || af->written != 0 || af->head)
        return evm_errf(err, EINVAL, "%s: head copy must come first", af->dst ? af->dst : "?");
    uint64_t allowed;
    int inj = injected_limit(af, len, &allowed);
    int r = afplat_head_start(af->fd, src_fd, allowed, &af->head, err);
    if (r < 0)
        return evm_err_wrap(err, "writing %s", af->tmp);
    af->written = len;
    if (inj < 0) {
        /* Let the partial copy finish (as a real failure would), then report it. */
        afplat_head_wait(af->head, NULL);
        af->head = NULL;
        return evm_errf(err, ENOSPC, "writing %s: No space left on device (injected)", af->tmp);
    }
    return 0;
}

static int head_wait(struct atomicfile *af, struct evm_err *err)
{
    if (!af->head)
        return 0;
    int r = afplat_head_wait(af->head, err);
    af->head = NULL;
    return r < 0 ? evm_err_wrap(err, "writing %s", af->tmp) : 0;
}

int atomicfile_pad(struct atomicfile *af, unsigned align, struct evm_err *err)
{
    static const unsigned char zeros[64];
    if (align == 0 || align > sizeof(zeros))
        return evm_errf(err, EINVAL, "bad alignment %u", align);
    size_t pad = (size_t)((align - af->written % align) % align);
    return pad ? atomicfile_write(af, zeros, pad, err) : 0;
}

int atomicfile_commit(struct atomicfile *af, struct evm_err *err)
{
    if (af->fd < 0)
        return evm_errf(err, EBADF, "%s: commit after close", af->dst ? af->dst : "?");
    int r = head_wait(af, err);
    if (r < 0) {
        atomicfile_abort(af);
        return r;
    }
    int fd = af->fd;
    af->fd = -1;
    r = afplat_sync_close(fd, err);
    if (r == 0)
        r = afplat_replace(af->tmp, af->dst, err);
    if (r < 0) {
        afplat_discard(-1, af->tmp);
    }
    free(af->tmp);
    free(af->dst);
    af->tmp = af->dst = NULL;
    return r;
}

void atomicfile_abort(struct atomicfile *af)
{
    head_wait(af, NULL);
    if (af->tmp)
        afplat_discard(af->fd, af->tmp);
    af->fd = -1;
    free(af->tmp);
    free(af->dst);
    af->tmp = af->dst = NULL;
}
