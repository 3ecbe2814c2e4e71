/* datadir_posix.c — the data directory's default and separator on Linux (see datadir.h):
 * /var/lib/ephemerd-vm, the unit's StateDirectory=ephemerd-vm. */
#include "agent/datadir.h"

#include <errno.h>
#include <stdio.h>

#define DATADIR_DEFAULT "/var/lib/ephemerd-vm"

int datadir_default(char *out, size_t size, struct evm_err *err)
{
    int n = snprintf(out, size, "%s", DATADIR_DEFAULT);
    if (n < 0 || (size_t)n >= size)
        return evm_errf(err, ENAMETOOLONG, "default data directory: path too long");
    return 0;
}

char datadir_separator(void)
{
    return '/';
}
