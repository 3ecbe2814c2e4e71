/* modules.c — loading kernel modules from the initrd in the order the base initrd lists. */
#include "modules.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

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

int modules_finit(void *ctx, const char *path, struct evm_err *err)
{
    (void)ctx;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
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
#define MAX_DEPS 32

struct mod {
    char *name;
    int deps[MAX_DEPS]; /* indexes of earlier modules */
    unsigned ndeps;
    bool all_before; /* no dependency list: after every earlier line */
    enum { M_WAITING, M_LOADING, M_DONE } state;
    unsigned lineno;
};

struct sched {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct mod *mods;
    size_t n;
    size_t done;
    const char *dir;
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
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", s->dir, name);
    int lr = s->load(s->ctx, path, err);
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
        size_t pick = s->n;
        for (size_t i = 0; i < s->n; i++) {
            if (s->mods[i].state == M_WAITING && ready(s, i)) {
                pick = i;
                break;
            }
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

/* Parses load-order into s->mods (names point into text). */
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
        if (!*name || strchr(name, '/') || strcmp(name, "..") == 0 || strcmp(name, ".") == 0)
            return evm_errf(err, EINVAL, "%s:%u: '%s' is not a module file name", path, lineno,
                            name);
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

int modules_load_workers(const char *dir, module_loader_fn load, void *ctx, unsigned workers,
                         struct modules_result *res, struct evm_err *err)
{
    res->loaded = res->skipped = 0;
    char path[4096];
    snprintf(path, sizeof(path), "%s/load-order", dir);
    char *text;
    size_t len;
    struct evm_err rerr = {0};
    int r = read_regular_file(path, 256 * 1024, &text, &len, &rerr);
    if (r == -ENOENT) {
        log_warn("no %s: no kernel modules to load", path);
        return 0;
    }
    if (r < 0)
        return evm_errf(err, -r, "%s", rerr.msg);

    struct sched s = {.dir = dir, .load = load, .ctx = ctx, .res = res, .err = err};
    s.mods = calloc(MAX_MODULES, sizeof(*s.mods));
    if (!s.mods) {
        free(text);
        return evm_errf(err, ENOMEM, "out of memory");
    }
    r = parse_order(text, path, &s, err);
    if (r == 0 && s.n > 0) {
        if (workers < 1)
            workers = 1;
        if (workers > 8)
            workers = 8;
        pthread_mutex_init(&s.lock, NULL);
        pthread_cond_init(&s.cond, NULL);
        pthread_t th[8];
        unsigned started = 0;
        for (unsigned i = 1; i < workers; i++) {
            if (pthread_create(&th[started], NULL, worker, &s) != 0)
                break; /* fewer threads is only slower */
            started++;
        }
        worker(&s);
        for (unsigned i = 0; i < started; i++)
            pthread_join(th[i], NULL);
        pthread_mutex_destroy(&s.lock);
        pthread_cond_destroy(&s.cond);
        r = s.result;
    }
    free(s.mods);
    free(text);
    return r;
}

int modules_load(const char *dir, module_loader_fn load, void *ctx, struct modules_result *res,
                 struct evm_err *err)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned workers = cpus < 1 ? 1 : cpus > 4 ? 4 : (unsigned)cpus;
    return modules_load_workers(dir, load, ctx, workers, res, err);
}
