/* datadir.h — the layout of the agent's data directory (docs/running.md), written once for
 * `run`, `status` and `doctor`:
 *   DATA/config.toml, DATA/status.json, DATA/vmhost.lock
 *   DATA/vm/linux/{kernel, base-initrd.img, ephemerd-linux}        inputs (operator's)
 *   DATA/vm/linux/{boot-initrd.img, cache/, <backend disk>, console.log, run/}  the agent's */
#ifndef EVM_DATADIR_H
#define EVM_DATADIR_H

#include "err.h"

#define DATADIR_PATH_MAX 4096

struct datadir {
    char vmdir[DATADIR_PATH_MAX], kernel[DATADIR_PATH_MAX], base[DATADIR_PATH_MAX],
        binary[DATADIR_PATH_MAX], boot_initrd[DATADIR_PATH_MAX], cache[DATADIR_PATH_MAX],
        disk[DATADIR_PATH_MAX], console[DATADIR_PATH_MAX], status[DATADIR_PATH_MAX],
        config[DATADIR_PATH_MAX], state[DATADIR_PATH_MAX];
};

/* The paths under data_dir; kernel, base and binary override the inputs' defaults when not
 * NULL. disk_file is the backend's (vm_backend()->disk_file). Creates nothing. */
int datadir_paths(const char *data_dir, const char *kernel, const char *base, const char *binary,
                  const char *disk_file, struct datadir *p, struct evm_err *err);

#endif
