/* hostpath.c — see hostpath.h. */
#include "initrd/hostpath.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int hostpath_join(const char *dir, const char *name, char **out, struct evm_err *err)
{
    size_t nd = strlen(dir), nn = strlen(name);
    while (nd > 1 && dir[nd - 1] == '/')
        nd--;
    char *p = malloc(nd + 1 + nn + 1);
    if (!p)
        return evm_errf(err, ENOMEM, "out of memory");
    memcpy(p, dir, nd);
    p[nd] = '/';
    memcpy(p + nd + 1, name, nn + 1);
    *out = p;
    return 0;
}

const char *hostpath_base(const char *p)
{
    const char *s = strrchr(p, '/');
#ifdef _WIN32
    const char *b = strrchr(p, '\\');
    if (b && (!s || b > s))
        s = b;
#endif
    return s ? s + 1 : p;
}

bool hostpath_is_absolute(const char *p)
{
#ifdef _WIN32
    if (p[0] == '\\' || (p[0] && p[1] == ':'))
        return true;
#endif
    return p[0] == '/';
}
