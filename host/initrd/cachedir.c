/* cachedir.c — naming, creating and pruning the binary-member cache. */
#include "initrd/cachedir.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "fileutil.h"

#define MEMBER_PREFIX "ephemerd-linux-"
#define MEMBER_SUFFIX ".member"

static const char *last_sep(const char *p)
{
    const char *a = strrchr(p, '/'), *b = strrchr(p, '\\');
    return a > b ? a : b;
}

static char *dirname_dup(const char *path)
{
    const char *sep = last_sep(path);
    if (!sep)
        return strdup(".");
    size_t n = sep == path ? 1 : (size_t)(sep - path);
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, path, n);
        d[n] = '\0';
    }
    return d;
}

int cachedir_member_path(const char *dir, const char *out, const char *sha256_hex,
                         const char *compress, uint64_t mtime, int version, char **path,
                         struct evm_err *err)
{
    char *d = dir ? strdup(dir) : dirname_dup(out);
    if (!d)
        return evm_errf(err, ENOMEM, "out of memory");
    size_t n = strlen(d) + strlen(sha256_hex) + strlen(compress) + 96;
    char *p = malloc(n);
    if (!p) {
        free(d);
        return evm_errf(err, ENOMEM, "out of memory");
    }
    snprintf(p, n, "%s/" MEMBER_PREFIX "%s-%s-m%llu-v%d" MEMBER_SUFFIX, d, sha256_hex, compress,
             (unsigned long long)mtime, version);
    free(d);
    *path = p;
    return 0;
}

int cachedir_prepare(const char *path, struct evm_err *err)
{
    char *d = dirname_dup(path);
    if (!d)
        return evm_errf(err, ENOMEM, "out of memory");
    int r = mkdir_p(d, err);
    free(d);
    return r < 0 ? evm_err_wrap(err, "binary-member cache") : 0;
}

static int is_member_name(const char *name)
{
    size_t n = strlen(name), ps = strlen(MEMBER_PREFIX), ss = strlen(MEMBER_SUFFIX);
    return n > ps + ss && strncmp(name, MEMBER_PREFIX, ps) == 0 &&
           strcmp(name + n - ss, MEMBER_SUFFIX) == 0;
}

void cachedir_prune(const char *keep)
{
    char *d = dirname_dup(keep);
    const char *sep = last_sep(keep);
    const char *keep_name = sep ? sep + 1 : keep;
    DIR *dir = d ? opendir(d) : NULL;
    if (!dir) {
        log_debug("binary-member cache: cannot list %s", d ? d : "?");
        free(d);
        return;
    }
    struct dirent *de;
    while ((de = readdir(dir)) != NULL) {
        if (!is_member_name(de->d_name) || strcmp(de->d_name, keep_name) == 0)
            continue;
        size_t n = strlen(d) + strlen(de->d_name) + 2;
        char *p = malloc(n);
        if (!p)
            break;
        snprintf(p, n, "%s/%s", d, de->d_name);
        if (unlink(p) == 0)
            log_debug("binary-member cache: removed stale %s", p);
        else
            log_warn("binary-member cache: cannot remove stale %s: %s", p, strerror(errno));
        free(p);
    }
    closedir(dir);
    free(d);
}
