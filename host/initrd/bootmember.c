/* bootmember.c — the boot member in memory: the manifest (boot id, binary and config
 * digests) and the config, written as one cpio member into a growing buffer. */
#include "initrd/bootmember.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bootid.h"
#include "config/hostcfg.h"
#include "initrd/cpiowriter.h"
#include "manifest.h"
#include "tail.h"

static int append(void *ctx, const void *buf, size_t len, struct evm_err *err)
{
    struct bootmember *m = ctx;
    if (len > m->cap - m->len) {
        size_t cap = m->cap ? m->cap : 4096;
        while (cap - m->len < len)
            cap *= 2;
        unsigned char *p = realloc(m->bytes, cap);
        if (!p)
            return evm_errf(err, ENOMEM, "out of memory");
        m->bytes = p;
        m->cap = cap;
    }
    memcpy(m->bytes + m->len, buf, len);
    m->len += len;
    return 0;
}

static int manifest_text(const struct bootinitrd_opts *o, bool embed, uint64_t bin_size,
                         const uint8_t bin_sha256[DIGEST_LEN], char *text, size_t cap, size_t *len,
                         struct evm_err *err)
{
    struct manifest man;
    memset(&man, 0, sizeof(man));
    memcpy(man.boot_id, o->boot_id, BOOT_ID_HEX_LEN);
    int r = manifest_add(&man, TAIL_BINARY, TAIL_BINARY_MODE, bin_size, bin_sha256, err);
    if (r == 0 && embed) {
        uint8_t d[DIGEST_LEN];
        digest_buf(o->config->bytes, o->config->len, d);
        r = manifest_add(&man, TAIL_CONFIG, TAIL_CONFIG_MODE, o->config->len, d, err);
    }
    return r < 0 ? r : manifest_format(&man, text, cap, len, err);
}

int bootmember_build(struct bootmember *m, const struct bootinitrd_opts *o, uint64_t bin_size,
                     const uint8_t bin_sha256[DIGEST_LEN], struct evm_err *err)
{
    memset(m, 0, sizeof(*m));
    const struct hostcfg *cfg = o->config;
    bool embed = cfg && cfg->state == HOSTCFG_OK;
    char text[MANIFEST_MAX_BYTES];
    size_t tlen = 0;
    int r = manifest_text(o, embed, bin_size, bin_sha256, text, sizeof(text), &tlen, err);
    if (r < 0)
        return r;

    struct cpio_member c;
    r = cpio_member_open(&c, o->compress, o->mtime, err);
    if (r == 0) {
        c.sink.fn = append;
        c.sink.ctx = m;
        if (embed)
            r = cpio_member_file_mem(&c, TAIL_CONFIG, TAIL_CONFIG_MODE, INO_CONFIG, cfg->bytes,
                                     cfg->len, err);
    }
    if (r == 0)
        r = cpio_member_file_mem(&c, TAIL_MANIFEST, TAIL_MANIFEST_MODE, INO_MANIFEST, text, tlen,
                                 err);
    int rc = cpio_member_close(&c, r < 0 ? NULL : err);
    if (r == 0)
        r = rc;
    if (r < 0) {
        bootmember_free(m);
        return r;
    }
    m->config_embedded = embed;
    return 0;
}

void bootmember_free(struct bootmember *m)
{
    free(m->bytes);
    m->bytes = NULL;
    m->len = m->cap = 0;
}
