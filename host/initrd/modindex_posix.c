/* modindex_posix.c — modindex_build on POSIX hosts: a private staging tree under $TMPDIR
 * (BASE/lib/modules/VERSION with a symlink per shipped module to the kernel's file, the
 * built-in lists and the cut-down modules.order, BASE/usr/lib/modules pointing at the same
 * place for a kmod built for /usr/lib/modules), `depmod -b BASE -C EMPTY VERSION` with its
 * output in a log file, the outputs read back, and the tree removed. See modindex.h. */
#include "initrd/modindex.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fileutil.h"
#include "initrd/hostpath.h"
#include "log.h"
#include "strutil.h"

#define INDEX_MAX_BYTES (64u * 1024u * 1024u)
#define LOG_EXCERPT 400

/* The staging tree of one run. */
struct stage {
    char base[PATH_MAX]; /* the mkdtemp directory */
    char vdir[PATH_MAX]; /* base/lib/modules/VERSION */
    char abs_modules[PATH_MAX];
};

static int fmt_path(char *out, const char *what, struct evm_err *err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fmt_path(char *out, const char *what, struct evm_err *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out, PATH_MAX, fmt, ap);
    va_end(ap);
    if (n < 0 || n >= PATH_MAX)
        return evm_errf(err, ENAMETOOLONG, "module index: %s: path too long", what);
    return 0;
}

/* ---- finding depmod ----------------------------------------------------------------------- */

static bool try_dir(const char *dir, size_t n, char *out)
{
    int w = snprintf(out, PATH_MAX, "%.*s/depmod", (int)n, dir);
    return w > 0 && w < PATH_MAX && access(out, X_OK) == 0;
}

static int find_depmod(const char *given, char *out, struct evm_err *err)
{
    if (given) {
        if (access(given, X_OK) != 0)
            return evm_errf(err, errno, "module index: %s: %s", given, strerror(errno));
        return fmt_path(out, given, err, "%s", given);
    }
    const char *path = getenv("PATH");
    for (const char *p = path ? path : ""; *p;) {
        size_t n = strcspn(p, ":");
        if (n > 0 && try_dir(p, n, out))
            return 0;
        p += n + (p[n] == ':');
    }
    if (try_dir("/usr/sbin", 9, out) || try_dir("/sbin", 5, out))
        return 0;
    return evm_errf(err, ENOENT,
                    "module index: depmod not found in PATH, /usr/sbin or /sbin (install kmod: "
                    "scripts/setup.sh does)");
}

/* ---- the staging tree --------------------------------------------------------------------- */

static int rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    if ((flag == FTW_DP ? rmdir(path) : unlink(path)) != 0)
        log_warn("module index: removing %s: %s", path, strerror(errno));
    return 0;
}

static void stage_remove(struct stage *s)
{
    if (s->base[0])
        nftw(s->base, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

static int mkdirs_for(const char *file, struct evm_err *err)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof(dir), "%s", file);
    char *slash = strrchr(dir, '/');
    if (!slash)
        return 0;
    *slash = '\0';
    return mkdir_p(dir, err);
}

static int link_into(const char *target, const char *link, struct evm_err *err)
{
    int r = mkdirs_for(link, err);
    if (r < 0)
        return r;
    if (symlink(target, link) != 0)
        return evm_errf(err, errno, "module index: symlink %s: %s", link, strerror(errno));
    return 0;
}

static int write_text(const char *path, const char *text, size_t len, struct evm_err *err)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0)
        return evm_errf(err, errno, "module index: %s: %s", path, strerror(errno));
    int r = write_all(fd, text, len, err, path);
    if (close(fd) != 0 && r == 0)
        r = evm_errf(err, errno, "module index: closing %s: %s", path, strerror(errno));
    return r;
}

static int stage_dirs(struct stage *s, const struct modindex_in *in, struct evm_err *err)
{
    const char *tmp = getenv("TMPDIR");
    int r = fmt_path(s->base, "TMPDIR", err, "%s/evm-modindex.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (r < 0)
        return r;
    if (!mkdtemp(s->base)) {
        int e = errno;
        s->base[0] = '\0';
        return evm_errf(err, e, "module index: mkdtemp in %s: %s", tmp && *tmp ? tmp : "/tmp",
                        strerror(e));
    }
    if (!realpath(in->modules_dir, s->abs_modules))
        return evm_errf(err, errno, "module index: %s: %s", in->modules_dir, strerror(errno));
    char p[PATH_MAX];
    if ((r = fmt_path(s->vdir, "version", err, "%s/lib/modules/%s", s->base, in->version)) < 0 ||
        (r = mkdir_p(s->vdir, err)) < 0 ||
        (r = fmt_path(p, "config", err, "%s/depmod.d", s->base)) < 0 || (r = mkdir_p(p, err)) < 0 ||
        (r = fmt_path(p, "usr", err, "%s/usr/lib", s->base)) < 0 || (r = mkdir_p(p, err)) < 0)
        return r;
    if ((r = fmt_path(p, "usr", err, "%s/usr/lib/modules", s->base)) < 0)
        return r;
    if (symlink("../../lib/modules", p) != 0)
        return evm_errf(err, errno, "module index: symlink %s: %s", p, strerror(errno));
    return 0;
}

/* The shipped modules (symlinks), the built-in lists (when the kernel has them) and the
 * cut-down modules.order. */
static int stage_files(struct stage *s, const struct modindex_in *in, struct evm_err *err)
{
    char src[PATH_MAX], dst[PATH_MAX];
    int r = 0;
    for (size_t i = 0; r == 0 && i < in->nrels; i++) {
        if ((r = fmt_path(src, in->rels[i], err, "%s/%s", s->abs_modules, in->rels[i])) == 0 &&
            (r = fmt_path(dst, in->rels[i], err, "%s/%s", s->vdir, in->rels[i])) == 0)
            r = link_into(src, dst, err);
    }
    static const char *const given[] = {"modules.builtin", "modules.builtin.modinfo"};
    for (size_t i = 0; r == 0 && i < 2; i++) {
        if ((r = fmt_path(src, given[i], err, "%s/%s", s->abs_modules, given[i])) == 0 &&
            access(src, F_OK) == 0 &&
            (r = fmt_path(dst, given[i], err, "%s/%s", s->vdir, given[i])) == 0)
            r = link_into(src, dst, err);
    }
    char *order;
    size_t len;
    if (r == 0 &&
        (r = modindex_order(in->modules_dir, in->rels, in->nrels, &order, &len, err)) == 0) {
        if ((r = fmt_path(dst, "modules.order", err, "%s/modules.order", s->vdir)) == 0)
            r = write_text(dst, order, len, err);
        free(order);
    }
    return r;
}

/* ---- running depmod ----------------------------------------------------------------------- */

static void depmod_failed(const char *logpath, const char *depmod, int status, struct evm_err *err)
{
    char *text = NULL, ex[LOG_EXCERPT + 8] = "";
    size_t len = 0;
    struct evm_err rerr = {0};
    if (read_regular_file(logpath, 1024 * 1024, &text, &len, &rerr) == 0) {
        size_t from = len > LOG_EXCERPT ? len - LOG_EXCERPT : 0;
        str_excerpt(ex, sizeof(ex), text + from, len - from, LOG_EXCERPT);
    }
    free(text);
    if (WIFEXITED(status))
        evm_errf(err, EIO, "module index: %s exited with status %d: %s", depmod,
                 WEXITSTATUS(status), ex[0] ? ex : "(no output)");
    else
        evm_errf(err, EIO, "module index: %s killed by signal %d", depmod,
                 WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

static int run_depmod(struct stage *s, const char *depmod, const char *version, struct evm_err *err)
{
    char logpath[PATH_MAX], cfg[PATH_MAX];
    int r;
    if ((r = fmt_path(logpath, "log", err, "%s/depmod.log", s->base)) < 0 ||
        (r = fmt_path(cfg, "config", err, "%s/depmod.d", s->base)) < 0)
        return r;
    int logfd = open(logpath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (logfd < 0)
        return evm_errf(err, errno, "module index: %s: %s", logpath, strerror(errno));
    char *const argv[] = {(char *)"depmod", (char *)"-b", s->base, (char *)"-C", cfg,
                          (char *)version,  NULL};
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        int nul = open("/dev/null", O_RDONLY);
        if (nul < 0 || dup2(nul, 0) < 0 || dup2(logfd, 1) < 0 || dup2(logfd, 2) < 0)
            _exit(126);
        execv(depmod, argv);
        _exit(127);
    }
    int e = errno;
    close(logfd);
    if (pid < 0)
        return evm_errf(err, e, "module index: fork for %s: %s", depmod, strerror(e));
    int status;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR)
            return evm_errf(err, errno, "module index: waiting for %s: %s", depmod,
                            strerror(errno));
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        depmod_failed(logpath, depmod, status, err);
        return -EIO;
    }
    return 0;
}

/* ---- reading the outputs back ------------------------------------------------------------- */

static int read_one(struct stage *s, const char *name, bool required, struct modindex *out,
                    struct evm_err *err)
{
    char path[PATH_MAX];
    int r = fmt_path(path, name, err, "%s/%s", s->vdir, name);
    if (r < 0)
        return r;
    char *data;
    size_t len;
    struct evm_err rerr = {0};
    r = read_regular_file(path, INDEX_MAX_BYTES, &data, &len, &rerr);
    if (r == -ENOENT && !required)
        return 0;
    if (r == -ENOENT)
        return evm_errf(err, ENOENT, "module index: depmod wrote no %s", name);
    if (r < 0)
        return evm_errf(err, -r, "module index: %s", rerr.msg);
    return modindex_add(out, name, data, len, err);
}

static int read_outputs(struct stage *s, struct modindex *out, struct evm_err *err)
{
    int r = 0;
    for (size_t i = 0; r == 0 && modindex_outputs[i]; i++)
        r = read_one(s, modindex_outputs[i], i < 2, out, err);
    static const char *const inputs[] = {"modules.order", "modules.builtin",
                                         "modules.builtin.modinfo"};
    for (size_t i = 0; r == 0 && i < 3; i++)
        r = read_one(s, inputs[i], i == 0, out, err);
    return r;
}

int modindex_build(const struct modindex_in *in, struct modindex *out, struct evm_err *err)
{
    memset(out, 0, sizeof(*out));
    char depmod[PATH_MAX];
    int r = find_depmod(in->depmod, depmod, err);
    if (r < 0)
        return r;
    struct stage s;
    memset(&s, 0, sizeof(s));
    r = stage_dirs(&s, in, err);
    if (r == 0)
        r = stage_files(&s, in, err);
    if (r == 0)
        r = run_depmod(&s, depmod, in->version, err);
    if (r == 0)
        r = read_outputs(&s, out, err);
    if (r == 0)
        log_debug("module index: %s over %zu modules: %zu files", depmod, in->nrels, out->n);
    stage_remove(&s);
    if (r < 0)
        modindex_free(out);
    return r;
}
