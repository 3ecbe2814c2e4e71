/* datadir.c — the data directory's layout and path joins (see datadir.h); the default
 * directory and the separator are datadir_posix.c's and datadir_win.c's. */
#include "agent/datadir.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int datadir_join(char *out, size_t len, const char *dir, const char *name)
{
    size_t d = strlen(dir), n = strlen(name);
    char sep = datadir_separator();
    if (d + 1 + n + 1 > len)
        return -ENAMETOOLONG;
    memmove(out, dir, d);
    out[d] = sep;
    for (size_t i = 0; i <= n; i++)
        out[d + 1 + i] = name[i] == '/' ? sep : name[i];
    return 0;
}

int datadir_choose(const char *given, char *out, size_t size, struct evm_err *err)
{
    if (!given)
        return datadir_default(out, size, err);
    if (strlen(given) >= size)
        return evm_errf(err, ENAMETOOLONG, "data directory path too long: %s", given);
    snprintf(out, size, "%s", given);
    return 0;
}

static int path_in(char *out, size_t len, const char *dir, const char *name)
{
    return datadir_join(out, len, dir, name);
}

int datadir_paths(const char *d, const char *kernel, const char *base, const char *binary,
                  const char *disk_file, struct datadir *p, struct evm_err *err)
{
    if (path_in(p->vmdir, sizeof(p->vmdir), d, "vm/linux") < 0 ||
        path_in(p->status, sizeof(p->status), d, "status.json") < 0 ||
        path_in(p->config, sizeof(p->config), d, "config.toml") < 0 ||
        path_in(p->boot_initrd, sizeof(p->boot_initrd), p->vmdir, "boot-initrd.img") < 0 ||
        path_in(p->cache, sizeof(p->cache), p->vmdir, "cache") < 0 ||
        path_in(p->disk, sizeof(p->disk), p->vmdir, disk_file) < 0 ||
        path_in(p->console, sizeof(p->console), p->vmdir, "console.log") < 0 ||
        path_in(p->state, sizeof(p->state), p->vmdir, "run") < 0)
        return evm_errf(err, ENAMETOOLONG, "data directory path too long: %s", d);
    snprintf(p->kernel, sizeof(p->kernel), "%s", kernel ? kernel : "");
    snprintf(p->base, sizeof(p->base), "%s", base ? base : "");
    snprintf(p->binary, sizeof(p->binary), "%s", binary ? binary : "");
    if ((!p->kernel[0] && path_in(p->kernel, sizeof(p->kernel), p->vmdir, "kernel") < 0) ||
        (!p->base[0] && path_in(p->base, sizeof(p->base), p->vmdir, "base-initrd.img") < 0) ||
        (!p->binary[0] && path_in(p->binary, sizeof(p->binary), p->vmdir, "ephemerd-linux") < 0))
        return evm_errf(err, ENAMETOOLONG, "data directory path too long: %s", d);
    return 0;
}
