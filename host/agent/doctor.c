/* doctor.c — see doctor.h. The data-dir checks mirror what a boot does with each file:
 * the inputs are opened as the initrd builder opens them, the config is loaded as `run`
 * loads it. */
#include "agent/doctor.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/datadir.h"
#include "agent/hostfs.h"
#include "config/hostcfg.h"
#include "fileutil.h"
#include "vm/vm.h"

#define MIN_FREE_BYTES (2ull << 30) /* the boot initrd, its cache member, a first disk */

struct tally {
    FILE *out;
    unsigned failed, warned;
};

static void report(void *ctx, const struct vm_check *c)
{
    struct tally *t = ctx;
    const char *mark = c->ok ? "ok  " : c->required ? "FAIL" : "warn";
    fprintf(t->out, "%s  %s: %s\n", mark, c->what, c->detail);
    if (!c->ok && c->fix[0])
        fprintf(t->out, "      fix: %s\n", c->fix);
    if (!c->ok && c->required)
        t->failed++;
    else if (!c->ok)
        t->warned++;
}

static void check_input(struct tally *t, const char *what, const char *path, const char *fix)
{
    struct vm_check c = {.what = what, .required = true};
    int fd;
    uint64_t size;
    struct evm_err err = {0};
    c.ok = open_regular_file(path, &fd, &size, &err) == 0;
    if (c.ok) {
        close(fd);
        c.ok = size > 0;
        snprintf(c.detail, sizeof(c.detail), "%.200s (%llu bytes)%s", path,
                 (unsigned long long)size, size ? "" : ": empty");
    } else {
        snprintf(c.detail, sizeof(c.detail), "%.250s", err.msg);
    }
    if (!c.ok)
        snprintf(c.fix, sizeof(c.fix), "%s", fix);
    report(t, &c);
}

static void check_private(struct tally *t, const char *what, const char *path)
{
    struct vm_check c = {.what = what, .required = true};
    struct evm_err err = {0};
    bool private = false;
    char who[200] = "";
    if (hostfs_private(path, &private, who, sizeof(who), &err) < 0) {
        snprintf(c.detail, sizeof(c.detail), "%.250s", err.msg);
        report(t, &c);
        return;
    }
    c.ok = private;
    snprintf(c.detail, sizeof(c.detail), "%s", who);
    if (!c.ok)
        snprintf(c.fix, sizeof(c.fix), "%s", hostfs_private_fix());
    report(t, &c);
}

static void check_config(struct tally *t, const char *path)
{
    struct vm_check c = {.what = "config.toml", .required = true};
    struct hostcfg cfg;
    struct evm_err err = {0};
    memset(&cfg, 0, sizeof(cfg));
    c.ok = hostcfg_load(path, &cfg, &err) == 0;
    if (!c.ok) {
        snprintf(c.detail, sizeof(c.detail), "%.250s", err.msg);
        snprintf(c.fix, sizeof(c.fix), "correct the value named above (docs/host-config.md)");
    } else if (cfg.state == HOSTCFG_OK) {
        snprintf(c.detail, sizeof(c.detail), "accepted (%zu bytes)", cfg.len);
    } else {
        snprintf(c.detail, sizeof(c.detail), "not used: %.200s (the VM boots without it)",
                 cfg.reason);
    }
    bool present = cfg.state == HOSTCFG_OK;
    hostcfg_free(&cfg);
    report(t, &c);
    if (present)
        check_private(t, "config.toml access", path);
}

static void check_space(struct tally *t, const char *dir)
{
    struct vm_check c = {.what = "free disk space", .required = true};
    uint64_t bytes = 0;
    struct evm_err err = {0};
    if (hostfs_free_bytes(dir, &bytes, &err) < 0) {
        snprintf(c.detail, sizeof(c.detail), "%.250s", err.msg);
    } else {
        c.ok = bytes >= MIN_FREE_BYTES;
        snprintf(c.detail, sizeof(c.detail), "%llu MiB free where the data dir is",
                 (unsigned long long)(bytes >> 20));
        if (!c.ok)
            snprintf(c.fix, sizeof(c.fix), "free at least %llu MiB there",
                     (unsigned long long)(MIN_FREE_BYTES >> 20));
    }
    report(t, &c);
}

static void check_data_dir(struct tally *t, const char *data_dir)
{
    struct datadir p;
    struct evm_err err = {0};
    struct vm_check c = {.what = "data directory", .required = true};
    if (datadir_paths(data_dir, NULL, NULL, NULL, vm_backend()->disk_file, &p, &err) < 0) {
        snprintf(c.detail, sizeof(c.detail), "%.250s", err.msg);
        report(t, &c);
        return;
    }
    struct stat st;
    c.ok = stat(data_dir, &st) == 0 && S_ISDIR(st.st_mode);
    snprintf(c.detail, sizeof(c.detail), "%.200s%s", data_dir, c.ok ? "" : ": not a directory");
    if (!c.ok)
        snprintf(c.fix, sizeof(c.fix),
                 "create it and put config.toml and vm/linux/ in it "
                 "(docs/running.md)");
    report(t, &c);
    if (!c.ok)
        return;
    check_private(t, "data directory access", data_dir);
    check_config(t, p.config);
    check_input(t, "kernel", p.kernel, "install the release's kernel at this path");
    check_input(t, "base initrd", p.base, "install the release's base initrd at this path");
    check_input(t, "daemon binary", p.binary, "install ephemerd-linux at this path");
    check_space(t, data_dir);
}

unsigned doctor_run(const char *data_dir, FILE *out)
{
    struct tally t = {.out = out};
    fprintf(out, "backend: %s (the guest's root disk is %s)\n", vm_backend()->name,
            vm_backend()->root_disk);
    vm_host_checks(report, &t);
    if (data_dir)
        check_data_dir(&t, data_dir);
    if (t.failed)
        fprintf(out, "doctor: %u problem(s) to fix before a boot can work%s\n", t.failed,
                t.warned ? " (and warnings above)" : "");
    else
        fprintf(out, "doctor: a boot can work here%s\n", t.warned ? " (see the warnings)" : "");
    return t.failed;
}
