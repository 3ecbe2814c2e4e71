/* modules.c — loading kernel modules from the initrd in the order the base initrd lists. */
#include "modules.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "log.h"
#include "readfile.h"

#ifndef MODULE_INIT_COMPRESSED_FILE
#define MODULE_INIT_COMPRESSED_FILE 4
#endif

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

int modules_finit(void *ctx, const char *path)
{
    (void)ctx;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int flags = (ends_with(path, ".xz") || ends_with(path, ".zst") || ends_with(path, ".gz"))
                    ? MODULE_INIT_COMPRESSED_FILE
                    : 0;
    long r = syscall(SYS_finit_module, fd, "", flags);
    int e = errno;
    close(fd);
    return r == 0 ? 0 : -e;
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t' || *s == '\r')
        s++;
    char *end = s + strlen(s);
    while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
        *--end = '\0';
    return s;
}

int modules_load(const char *dir, module_loader_fn load, void *ctx, struct modules_result *res,
                 struct evm_err *err)
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

    unsigned lineno = 0;
    r = 0;
    for (char *save = NULL, *line = strtok_r(text, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        lineno++;
        char *name = trim(line);
        if (!*name || *name == '#')
            continue;
        if (strchr(name, '/') || strcmp(name, "..") == 0 || strcmp(name, ".") == 0) {
            r = evm_errf(err, EINVAL, "%s:%u: '%s' is not a module file name", path, lineno, name);
            break;
        }
        snprintf(path, sizeof(path), "%s/%s", dir, name);
        int lr = load(ctx, path);
        if (lr == 0) {
            res->loaded++;
            log_debug("module %s loaded", name);
        } else if (lr == -EEXIST) {
            res->skipped++;
            log_warn("module %s: already loaded or built in", name);
        } else if (lr == -ENODEV) {
            res->skipped++;
            log_warn("module %s: no such device on this machine, skipped", name);
        } else if (lr == -ENOENT) {
            res->skipped++;
            log_warn("module %s: not present in the initrd, skipped", name);
        } else {
            r = evm_errf(err, -lr, "loading module %s: %s", name, strerror(-lr));
            break;
        }
    }
    free(text);
    return r;
}
