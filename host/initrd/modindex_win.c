/* modindex_win.c — modindex_build on Windows: Debian's depmod does not run there, so no
 * index is made (-ENOSYS); the builder warns and ships the modules without one. Build
 * release base initrds on Linux (design §2). See modindex.h. */
#include "initrd/modindex.h"

#include <errno.h>
#include <string.h>

int modindex_build(const struct modindex_in *in, struct modindex *out, struct evm_err *err)
{
    (void)in;
    memset(out, 0, sizeof(*out));
    return evm_errf(err, ENOSYS,
                    "module index: depmod runs only on Linux hosts; build the base initrd there");
}
