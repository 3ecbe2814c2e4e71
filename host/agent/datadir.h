/* datadir.h — the agent's data directory (docs/running.md): where it is by default
 * (datadir_posix.c: /var/lib/ephemerd-vm; datadir_win.c: %ProgramData%\ephemerd), and its
 * layout, written once for `run`, `status`, `doctor`, `cmdline` and `config show`, with the
 * platform's separator ('\\' on Windows):
 *   DATA/config.toml, DATA/status.json, DATA/vmhost.lock
 *   DATA/vm/linux/{kernel, base-initrd.img, ephemerd-linux}        inputs (operator's)
 *   DATA/vm/linux/{boot-initrd.img, cache/, <backend disk>, console.log, run/}  the agent's */
#ifndef EVM_DATADIR_H
#define EVM_DATADIR_H

#include <stddef.h>

#include "err.h"

#define DATADIR_PATH_MAX 4096

struct datadir {
    char vmdir[DATADIR_PATH_MAX], kernel[DATADIR_PATH_MAX], base[DATADIR_PATH_MAX],
        binary[DATADIR_PATH_MAX], boot_initrd[DATADIR_PATH_MAX], cache[DATADIR_PATH_MAX],
        disk[DATADIR_PATH_MAX], console[DATADIR_PATH_MAX], status[DATADIR_PATH_MAX],
        config[DATADIR_PATH_MAX], state[DATADIR_PATH_MAX];
};

/* The platform's default data directory, used when --data-dir is not given. */
int datadir_default(char *out, size_t size, struct evm_err *err);

/* The platform's path separator: '/' or '\\'. */
char datadir_separator(void);

/* given when not NULL, else the default, into out. */
int datadir_choose(const char *given, char *out, size_t size, struct evm_err *err);

/* dir + the separator + name into out (name's '/' become the separator); -ENAMETOOLONG. */
int datadir_join(char *out, size_t size, const char *dir, const char *name);

/* The paths under data_dir; kernel, base and binary override the inputs' defaults when not
 * NULL. disk_file is the backend's (vm_backend()->disk_file). Creates nothing. */
int datadir_paths(const char *data_dir, const char *kernel, const char *base, const char *binary,
                  const char *disk_file, struct datadir *p, struct evm_err *err);

#endif
