/* cgroup.c — enabling the cgroup v2 controllers containerd needs in the root cgroup's
 * subtree_control (see cgroup.h). The root is a parameter so tests use a plain directory. */
#include "cgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fileutil.h"
#include "fsat.h"
#include "log.h"

const char *const cgroup_wanted[] = {"cpuset", "cpu", "io", "memory", "pids", NULL};

/* What a container loses without the controller, for the warning. */
static const char *loss(const char *name)
{
    static const char *const what[][2] = {
        {"cpuset", "CPU pinning (--cpuset-cpus)"},
        {"cpu", "CPU limits and shares"},
        {"io", "block I/O limits"},
        {"memory", "memory limits (and the OOM handling that goes with them)"},
        {"pids", "process-count limits"},
    };
    for (size_t i = 0; i < sizeof(what) / sizeof(what[0]); i++)
        if (strcmp(what[i][0], name) == 0)
            return what[i][1];
    return "its limits";
}

/* name is a whole word of the space-separated list. */
static bool has_word(const char *list, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = list; (p = strstr(p, name)) != NULL; p += n)
        if ((p == list || p[-1] == ' ') && (p[n] == '\0' || p[n] == ' ' || p[n] == '\n'))
            return true;
    return false;
}

static int enable_one(const char *path, const char *name)
{
    char buf[32];
    int n = snprintf(buf, sizeof(buf), "+%s", name);
    int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return -errno;
    ssize_t w;
    do
        w = write(fd, buf, (size_t)n);
    while (w < 0 && errno == EINTR);
    int e = w == n ? 0 : w < 0 ? errno : EIO;
    if (close(fd) != 0 && e == 0)
        e = errno;
    return -e;
}

int cgroup_enable_controllers(const char *cgroot, unsigned *enabled, struct evm_err *err)
{
    *enabled = 0;
    char path[4096];
    if (fsat_join(path, sizeof(path), cgroot, "cgroup.controllers") < 0)
        return evm_errf(err, ENAMETOOLONG, "%s: path too long", cgroot);
    char *avail;
    size_t len;
    int r = read_regular_file(path, 4096, &avail, &len, err);
    if (r < 0)
        return evm_err_wrap(err, "cgroup2 controllers");
    if (fsat_join(path, sizeof(path), cgroot, "cgroup.subtree_control") < 0) {
        free(avail);
        return evm_errf(err, ENAMETOOLONG, "%s: path too long", cgroot);
    }
    for (size_t i = 0; cgroup_wanted[i]; i++) {
        const char *name = cgroup_wanted[i];
        if (!has_word(avail, name)) {
            log_warn("cgroup controller %s: not offered by this kernel (%s lists \"%.*s\"): "
                     "containers get no %s",
                     name, cgroot, (int)strcspn(avail, "\n"), avail, loss(name));
            continue;
        }
        int e = enable_one(path, name);
        if (e < 0) {
            log_warn("cgroup controller %s: enabling it in %s: %s: containers get no %s", name,
                     path, strerror(-e), loss(name));
            continue;
        }
        (*enabled)++;
    }
    free(avail);
    return 0;
}
