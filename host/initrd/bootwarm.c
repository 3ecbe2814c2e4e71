/* bootwarm.c — the boot initrd's in-place update and its record (see bootwarm.h):
 * identifying the inputs, deciding from the record whether the output's prefix (base and
 * binary member) can stay, rewriting the boot member in place, and recording full builds. */
#include "initrd/bootwarm.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fileutil.h"
#include "initrd/bootmember.h"
#include "initrd/bootrecord.h"
#include "initrd/inplace.h"
#include "log.h"

static int identify(const char *path, struct file_id *id)
{
    int fd;
    if (open_regular_file(path, &fd, NULL, NULL) < 0)
        return -1;
    int r = file_id_of_fd(fd, id, NULL);
    close(fd);
    return r;
}

/* The inputs' identities before the build reads them; the time first, so that an input
 * that changes after it was identified always has a later time. */
static void identify_inputs(struct bootwarm *w, const struct bootinitrd_opts *o)
{
    w->seen_ns = file_time_now_ns();
    w->inputs_known = identify(o->base, &w->base) == 0 && identify(o->binary, &w->binary) == 0;
}

static bool settled(const struct file_id *id, int64_t seen_ns)
{
    return id->mtime_ns <= seen_ns - BOOTWARM_SETTLE_NS &&
           id->ctime_ns <= seen_ns - BOOTWARM_SETTLE_NS;
}

/* The output's identity as it is now, through the same checks as an update. */
static int output_id(const char *out, struct file_id *id, struct evm_err *err)
{
    int fd;
    int r = inplace_open(out, &fd, err);
    if (r < 0)
        return r;
    r = file_id_of_fd(fd, id, err);
    close(fd);
    return r;
}

static int store_record(const struct bootwarm *w, const struct bootrecord *rec, struct evm_err *err)
{
    char buf[BOOTRECORD_MAX_BYTES];
    size_t len = 0;
    int r = bootrecord_format(rec, buf, sizeof(buf), &len, err);
    if (r == 0)
        r = inplace_remove(w->record, err);
    if (r == 0)
        r = inplace_create_small(w->record, buf, len, err);
    return r;
}

/* ---- the in-place update ------------------------------------------------------------- */

/* Why the record does not describe a build from these inputs and options, or NULL. */
static const char *inputs_mismatch(const struct bootwarm *w, const struct bootinitrd_opts *o,
                                   const struct bootrecord *rec)
{
    if (!w->inputs_known)
        return "the inputs cannot be identified";
    if (rec->member_format != w->member_format)
        return "the binary member's format changed";
    if (rec->compress != o->compress)
        return "the compression changed";
    if (rec->mtime != o->mtime)
        return "the entry mtime changed";
    if (!file_id_equal(&rec->base, &w->base))
        return "the base initrd changed";
    if (!file_id_equal(&rec->binary, &w->binary))
        return "the daemon binary changed";
    return NULL;
}

/* Opens the output when it is still exactly the file the record describes. */
static const char *open_output(const struct bootwarm *w, const struct bootinitrd_opts *o,
                               const struct bootrecord *rec, int *fd, struct evm_err *e)
{
    if (inplace_open(o->out, fd, e) < 0)
        return e->msg;
    struct file_id id;
    const char *why = NULL;
    if (file_id_of_fd(*fd, &id, e) < 0)
        why = e->msg;
    else if (!file_id_equal(&id, &rec->out))
        why = "the output changed since it was recorded";
    else if (file_id_same_file(&id, &w->base) || file_id_same_file(&id, &w->binary))
        why = "the output is one of the inputs";
    if (why)
        close(*fd);
    return why;
}

/* Cuts the output at off and writes the member there. fail_after: the test hook of
 * bootinitrd_opts, failing as a full disk would past that many bytes of output. */
static int write_tail(int fd, uint64_t off, const struct bootmember *m, uint64_t fail_after,
                      struct evm_err *err)
{
    size_t n = m->len;
    bool fail = fail_after && off + n > fail_after;
    if (fail)
        n = fail_after > off ? (size_t)(fail_after - off) : 0;
    int r = inplace_truncate(fd, off, err);
    if (r == 0 && n)
        r = inplace_write_at(fd, off, m->bytes, n, err);
    if (r == 0 && fail)
        r = evm_errf(err, ENOSPC, "write: %s", strerror(ENOSPC));
    return r;
}

static void fill_result(struct bootinitrd_result *res, const struct bootrecord *rec,
                        const struct bootmember *m)
{
    res->in_place = true;
    res->cache_hit = true; /* the binary member was not built */
    res->config_embedded = m->config_embedded;
    res->base_size = rec->base.size;
    res->binary_member = rec->binary_member;
    res->boot_member.offset = rec->boot_offset;
    res->boot_member.length = m->len;
    res->out_size = rec->boot_offset + m->len;
    memcpy(res->binary_sha256, rec->binary_sha256, DIGEST_LEN);
}

/* The update proper, from a record that matches the inputs and an output open as fd. */
static int update(struct bootwarm *w, const struct bootinitrd_opts *o, struct bootrecord *rec,
                  int fd, struct bootinitrd_result *res, struct evm_err *err)
{
    /* Everything that can fail without touching the output comes first. */
    struct bootmember m;
    struct evm_err e = {0};
    if (bootmember_build(&m, o, rec->binary.size, rec->binary_sha256, &e) < 0 ||
        inplace_remove(w->record, &e) < 0) {
        close(fd);
        bootmember_free(&m);
        log_debug("boot initrd %s: full build: %s", o->out, e.msg);
        return 0;
    }
    /* From here a failure leaves an output without a record: the next build is a full one. */
    int r = write_tail(fd, rec->boot_offset, &m, o->fail_after, err);
    if (close(fd) < 0 && r == 0)
        r = evm_errf(err, errno, "close: %s", strerror(errno));
    if (r < 0) {
        bootmember_free(&m);
        return evm_err_wrap(err, "updating %s in place", o->out);
    }
    fill_result(res, rec, &m);
    bootmember_free(&m);
    /* Taken after close: some file systems set the times when the handle closes. Another
     * file at that name now (a concurrent full build renamed its output there) is not
     * what this record describes. */
    struct file_id updated = rec->out;
    r = output_id(o->out, &rec->out, &e);
    if (r == 0 && !file_id_same_file(&updated, &rec->out))
        r = evm_errf(&e, EAGAIN, "%s was replaced meanwhile", o->out);
    if (r == 0)
        r = store_record(w, rec, &e);
    if (r < 0)
        log_warn("boot initrd %s: no record written, the next build is a full one: %s", o->out,
                 e.msg);
    return 1;
}

static int record_path(struct bootwarm *w, const char *out)
{
    size_t n = strlen(out) + sizeof(BOOTRECORD_SUFFIX);
    w->record = malloc(n);
    if (!w->record)
        return -ENOMEM;
    snprintf(w->record, n, "%s%s", out, BOOTRECORD_SUFFIX);
    return 0;
}

int bootwarm_try(struct bootwarm *w, const struct bootinitrd_opts *o, struct bootinitrd_result *res,
                 struct evm_err *err)
{
    if (!o->out || !*o->out || record_path(w, o->out) < 0)
        return 0; /* the full build reports what is wrong */
    identify_inputs(w, o);
    if (o->full) {
        log_debug("boot initrd %s: full build requested", o->out);
        return 0;
    }
    struct evm_err e = {0};
    struct bootrecord rec;
    char buf[BOOTRECORD_MAX_BYTES];
    size_t len = 0;
    const char *why = NULL;
    int fd = -1;
    if (inplace_read_small(w->record, buf, sizeof(buf), &len, &e) < 0 ||
        bootrecord_parse(buf, len, &rec, &e) < 0)
        why = e.msg;
    if (!why)
        why = inputs_mismatch(w, o, &rec);
    if (!why)
        why = open_output(w, o, &rec, &fd, &e);
    if (why) {
        log_debug("boot initrd %s: full build: %s", o->out, why);
        return 0;
    }
    return update(w, o, &rec, fd, res, err);
}

/* ---- recording a full build ---------------------------------------------------------- */

/* Why the build cannot be recorded, or NULL. */
static const char *unrecordable(const struct bootwarm *w, int base_fd, int bin_fd)
{
    struct file_id base, bin;
    if (!w->inputs_known)
        return "the inputs could not be identified";
    if (base_fd < 0 || file_id_of_fd(base_fd, &base, NULL) < 0 || !file_id_equal(&base, &w->base))
        return "the base initrd changed during the build";
    if (bin_fd < 0 || file_id_of_fd(bin_fd, &bin, NULL) < 0 || !file_id_equal(&bin, &w->binary))
        return "the daemon binary changed during the build";
    if (!settled(&w->base, w->seen_ns) || !settled(&w->binary, w->seen_ns))
        return "an input changed less than 2 s before the build";
    return NULL;
}

void bootwarm_record_full(struct bootwarm *w, const struct bootinitrd_opts *o,
                          const struct bootinitrd_result *res, int base_fd, int bin_fd)
{
    if (!w->record)
        return;
    struct evm_err e = {0};
    /* The previous record describes the file this build replaced. */
    int r = inplace_remove(w->record, &e);
    if (r < 0) {
        log_warn("boot initrd %s: no record written, the next build is a full one: %s", o->out,
                 e.msg);
        return;
    }
    const char *why = unrecordable(w, base_fd, bin_fd);
    if (why) {
        log_debug("boot initrd %s: not recorded for an in-place update: %s", o->out, why);
        return;
    }
    struct bootrecord rec = {
        .base = w->base,
        .binary = w->binary,
        .compress = o->compress,
        .mtime = o->mtime,
        .member_format = w->member_format,
        .binary_member = res->binary_member,
        .boot_offset = res->boot_member.offset,
    };
    memcpy(rec.binary_sha256, res->binary_sha256, DIGEST_LEN);
    r = output_id(o->out, &rec.out, &e);
    if (r == 0)
        r = store_record(w, &rec, &e);
    if (r < 0)
        log_warn("boot initrd %s: no record written, the next build is a full one: %s", o->out,
                 e.msg);
}

void bootwarm_free(struct bootwarm *w)
{
    free(w->record);
    w->record = NULL;
}
