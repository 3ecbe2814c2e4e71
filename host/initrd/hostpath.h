/* hostpath.h — host path helpers shared by the base initrd files (baseinitrd.c, baselist.c,
 * moddeps.c, elf.c): joining a directory and a name with '/', the last component of a path
 * (either separator on Windows), and whether a path is absolute. */
#ifndef EVM_HOSTPATH_H
#define EVM_HOSTPATH_H

#include <stdbool.h>

#include "err.h"

/* dir + "/" + name into a malloc'd *out; trailing '/' on dir are dropped (not a lone "/"). */
int hostpath_join(const char *dir, const char *name, char **out, struct evm_err *err);

/* The last component of p: what follows the last '/' (or '\\' on Windows), else p. */
const char *hostpath_base(const char *p);

/* '/'-rooted (on Windows also '\\'-rooted or with a drive letter). */
bool hostpath_is_absolute(const char *p);

#endif
