/* modules.c — loading kernel modules from the initrd in the order the base initrd's load
 * lists give: parsing a list, the dependency-aware scheduler shared by a few threads,
 * finit_module, and a load run on a thread of its own. */
#include "modules.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "clock.h"
#include "fileutil.h"
#include "log.h"
#include "strutil.h"

#ifndef MODULE_INIT_COMPRESSED_FILE
#define MODULE_INIT_COMPRESSED_FILE 4
#endif

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

int modules_finit(void *ctx, int dirfd, const char *path, struct evm_err *err)
{
    (void)ctx;
    int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return evm_errf(err, errno, "opening %s: %s", path, strerror(errno));
    int flags = (ends_with(path, ".xz") || ends_with(path, ".zst") || ends_with(path, ".gz"))
                    ? MODULE_INIT_COMPRESSED_FILE
                    : 0;
    long r = syscall(SYS_finit_module, fd, "", flags);
    int e = errno;
    close(fd);
    if (r != 0)
        return evm_errf(err, e, "finit_module %s: %s", path, strerror(e));
    return 0;
}

#define MAX_MODULES 512
#define LIST_MAX_BYTES (256u * 1024u)
#define MAX_DEPS 32

struct mod {
    char *name;
    int deps[MAX_DEPS]; /* indexes of earlier modules */
    unsigned ndeps;
    bool all_before; /* no dependency list: after every earlier line */
    enum { M_WAITING, M_LOADING, M_DONE } state;
    unsigned lineno;
    uint64_t weight; /* its file's size plus the heaviest chain of modules waiting for it */
};

struct sched {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct mod *mods;
    size_t n;
    size_t done;
    int dirfd;
    module_loader_fn load;
    void *ctx;
    struct modules_result *res;
    struct evm_err *err;
    int result; /* first fatal error */
};

static bool ready(const struct sched *s, size_t i)
{
    const struct mod *m = &s->mods[i];
    if (m->all_before) {
        for (size_t j = 0; j < i; j++)
            if (s->mods[j].state != M_DONE)
                return false;
        return true;
    }
    for (unsigned k = 0; k < m->ndeps; k++)
        if (s->mods[m->deps[k]].state != M_DONE)
            return false;
    return true;
}

/* Loads one module and classifies the outcome; called without the lock held. */
static int load_one(struct sched *s, const char *name, struct evm_err *err, bool *skipped)
{
    int lr = s->load(s->ctx, s->dirfd, name, err);
    *skipped = true;
    if (lr == 0) {
        *skipped = false;
        log_debug("module %s loaded", name);
    } else if (lr == -EEXIST) {
        log_warn("module %s: already loaded or built in", name);
    } else if (lr == -ENODEV) {
        log_warn("module %s: no such device on this machine, skipped", name);
    } else if (lr == -ENOENT) {
        log_warn("module %s: not present in the initrd, skipped", name);
    } else {
        return evm_err_wrap(err, "loading module %s", name);
    }
    evm_err_clear(err);
    return 0;
}

static void *worker(void *arg)
{
    struct sched *s = arg;
    pthread_mutex_lock(&s->lock);
    for (;;) {
        if (s->result < 0 || s->done == s->n)
            break;
        /* The ready module with the heaviest chain behind it first (list order on ties): the
         * long chains (ext4 after jbd2, the virtio stack) start as early as they can. */
        size_t pick = s->n;
        for (size_t i = 0; i < s->n; i++) {
            if (s->mods[i].state == M_WAITING && ready(s, i) &&
                (pick == s->n || s->mods[i].weight > s->mods[pick].weight))
                pick = i;
        }
        if (pick == s->n) {
            pthread_cond_wait(&s->cond, &s->lock);
            continue;
        }
        s->mods[pick].state = M_LOADING;
        pthread_mutex_unlock(&s->lock);
        struct evm_err e = {0};
        bool skipped;
        int r = load_one(s, s->mods[pick].name, &e, &skipped);
        pthread_mutex_lock(&s->lock);
        s->mods[pick].state = M_DONE;
        s->done++;
        if (r < 0 && s->result == 0) {
            s->result = r;
            *s->err = e;
        } else if (r == 0 && skipped) {
            s->res->skipped++;
        } else if (r == 0) {
            s->res->loaded++;
        }
        pthread_cond_broadcast(&s->cond);
    }
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

/* A path relative to the modules directory: not absolute, no empty, "." or ".." component. */
static bool rel_ok(const char *p)
{
    if (!*p || *p == '/')
        return false;
    for (const char *c = p;;) {
        size_t n = strcspn(c, "/");
        if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
            return false;
        if (!c[n])
            return true;
        c += n + 1;
    }
}

/* Parses a load list into s->mods (names point into text). */
static int parse_order(char *text, const char *path, struct sched *s, struct evm_err *err)
{
    unsigned lineno = 0;
    for (char *save = NULL, *line = strtok_r(text, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        lineno++;
        char *name = str_trim(line);
        if (!*name || *name == '#')
            continue;
        char *colon = strchr(name, ':');
        char *deps = NULL;
        if (colon) {
            *colon = '\0';
            deps = colon + 1;
            name = str_trim(name);
        }
        if (!rel_ok(name))
            return evm_errf(err, EINVAL, "%s:%u: '%s' is not a module path", path, lineno, name);
        if (s->n == MAX_MODULES)
            return evm_errf(err, E2BIG, "%s: more than %d modules", path, MAX_MODULES);
        struct mod *m = &s->mods[s->n];
        memset(m, 0, sizeof(*m));
        m->name = name;
        m->lineno = lineno;
        m->all_before = deps == NULL;
        for (char *dsave = NULL, *d = deps ? strtok_r(deps, " \t", &dsave) : NULL; d;
             d = strtok_r(NULL, " \t", &dsave)) {
            /* A dependency not listed earlier (built in, or not shipped) is satisfied. */
            for (size_t j = 0; j < s->n; j++) {
                if (strcmp(s->mods[j].name, d) == 0) {
                    if (m->ndeps == MAX_DEPS)
                        return evm_errf(err, E2BIG, "%s:%u: more than %d dependencies", path,
                                        lineno, MAX_DEPS);
                    m->deps[m->ndeps++] = (int)j;
                    break;
                }
            }
        }
        s->n++;
    }
    return 0;
}

/* The list `name` under dirfd: a regular file (never through a symlink) of at most
 * LIST_MAX_BYTES, NUL-terminated. -ENOENT when it does not exist. */
static int read_list_at(int dirfd, const char *name, char **text, size_t *len, struct evm_err *err)
{
    int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
    if (fd < 0)
        return evm_errf(err, errno, "opening %s: %s", name, strerror(errno));
    struct stat st;
    int r = 0;
    if (fstat(fd, &st) != 0)
        r = evm_errf(err, errno, "examining %s: %s", name, strerror(errno));
    else if (!S_ISREG(st.st_mode))
        r = evm_errf(err, EINVAL, "%s is not a regular file", name);
    else if (st.st_size > LIST_MAX_BYTES)
        r = evm_errf(err, EFBIG, "%s: larger than %u bytes", name, LIST_MAX_BYTES);
    char *buf = r == 0 ? malloc((size_t)st.st_size + 1) : NULL;
    if (r == 0 && !buf)
        r = evm_errf(err, ENOMEM, "out of memory");
    size_t got = 0;
    if (r == 0)
        r = read_full(fd, buf, (size_t)st.st_size, &got, err, name);
    close(fd);
    if (r < 0) {
        free(buf);
        return r;
    }
    buf[got] = '\0';
    *text = buf;
    *len = got;
    return 0;
}

/* Each module's weight: its file's size (the kernel copies, checks the signature of and
 * relocates every byte) plus the heaviest weight among the modules listing it as a
 * dependency. Dependents come after their dependencies, so one backward pass does it. A
 * sequential line (no dependency list) keeps its plain weight: its place is fixed anyway. */
static void weigh(struct sched *s)
{
    for (size_t i = 0; i < s->n; i++) {
        struct stat st;
        s->mods[i].weight =
            fstatat(s->dirfd, s->mods[i].name, &st, 0) == 0 ? (uint64_t)st.st_size : 0;
    }
    for (size_t i = s->n; i-- > 0;) {
        uint64_t heaviest = 0;
        for (size_t j = i + 1; j < s->n; j++)
            for (unsigned k = 0; k < s->mods[j].ndeps; k++)
                if ((size_t)s->mods[j].deps[k] == i && s->mods[j].weight > heaviest)
                    heaviest = s->mods[j].weight;
        s->mods[i].weight += heaviest;
    }
}

/* Runs the scheduler over s->mods with `workers` threads (the caller is one). */
static int run_sched(struct sched *s, unsigned workers)
{
    if (workers < 1)
        workers = 1;
    if (workers > 8)
        workers = 8;
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->cond, NULL);
    pthread_t th[8];
    unsigned started = 0;
    for (unsigned i = 1; i < workers; i++) {
        if (pthread_create(&th[started], NULL, worker, s) != 0)
            break; /* fewer threads is only slower */
        started++;
    }
    worker(s);
    for (unsigned i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->cond);
    return s->result;
}

int modules_load_at(int dirfd, const char *list, module_loader_fn load, void *ctx, unsigned workers,
                    struct modules_result *res, struct evm_err *err)
{
    memset(res, 0, sizeof(*res));
    uint64_t t0 = clock_monotonic_ms();
    char *text = NULL;
    size_t len = 0;
    int r = read_list_at(dirfd, list, &text, &len, err);
    if (r == -ENOENT) {
        evm_err_clear(err);
        res->no_list = true;
        return 0;
    }
    if (r < 0)
        return r;

    struct sched s = {.dirfd = dirfd, .load = load, .ctx = ctx, .res = res, .err = err};
    s.mods = calloc(MAX_MODULES, sizeof(*s.mods));
    if (!s.mods) {
        free(text);
        return evm_errf(err, ENOMEM, "out of memory");
    }
    r = parse_order(text, list, &s, err);
    if (r == 0 && s.n > 0) {
        weigh(&s);
        r = run_sched(&s, workers);
    }
    free(s.mods);
    free(text);
    res->ms = clock_monotonic_ms() - t0;
    return r;
}

int modules_load_workers(const char *dir, module_loader_fn load, void *ctx, unsigned workers,
                         struct modules_result *res, struct evm_err *err)
{
    memset(res, 0, sizeof(*res));
    int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dirfd < 0 && errno == ENOENT) {
        log_warn("no %s/load-order: no kernel modules to load", dir);
        res->no_list = true;
        return 0;
    }
    if (dirfd < 0)
        return evm_errf(err, errno, "opening %s: %s", dir, strerror(errno));
    int r = modules_load_at(dirfd, "load-order", load, ctx, workers, res, err);
    close(dirfd);
    if (r == 0 && res->no_list)
        log_warn("no %s/load-order: no kernel modules to load", dir);
    return r;
}

unsigned modules_default_workers(void)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    return cpus < 1 ? 1 : cpus > 4 ? 4 : (unsigned)cpus;
}

int modules_load(const char *dir, module_loader_fn load, void *ctx, struct modules_result *res,
                 struct evm_err *err)
{
    return modules_load_workers(dir, load, ctx, modules_default_workers(), res, err);
}

/* ---- a load on a thread of its own ---------------------------------------------------------- */

struct modules_job {
    pthread_t th;
    int dirfd;
    char list[256];
    module_loader_fn load;
    void *ctx;
    unsigned workers;
    struct modules_result res;
    struct evm_err err;
    int rc;
};

static void *job_main(void *arg)
{
    struct modules_job *j = arg;
    j->rc = modules_load_at(j->dirfd, j->list, j->load, j->ctx, j->workers, &j->res, &j->err);
    return NULL;
}

int modules_job_start(int dirfd, const char *list, module_loader_fn load, void *ctx,
                      unsigned workers, struct modules_job **job, struct evm_err *err)
{
    struct modules_job *j = calloc(1, sizeof(*j));
    if (!j)
        return evm_errf(err, ENOMEM, "out of memory");
    if (snprintf(j->list, sizeof(j->list), "%s", list) >= (int)sizeof(j->list)) {
        free(j);
        return evm_errf(err, ENAMETOOLONG, "load list name too long: %s", list);
    }
    j->dirfd = dirfd;
    j->load = load;
    j->ctx = ctx;
    j->workers = workers;
    /* The thread never takes a signal meant for PID 1's signalfd or handlers. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int e = pthread_create(&j->th, NULL, job_main, j);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (e != 0) {
        free(j);
        return evm_errf(err, e, "starting the module loading thread: %s", strerror(e));
    }
    *job = j;
    return 0;
}

int modules_job_wait(struct modules_job *job, struct modules_result *res, struct evm_err *err)
{
    pthread_join(job->th, NULL);
    int rc = job->rc;
    *res = job->res;
    if (rc < 0 && err)
        *err = job->err;
    free(job);
    return rc;
}
