/* modules.h — design §4 step 3: load the kernel modules listed in <dir>/load-order, in
 * order, with finit_module. */
#ifndef EVM_MODULES_H
#define EVM_MODULES_H

#include "err.h"

/* Loads one module file; returns 0 or a negative errno with a message in err (production:
 * finit_module). The errno classifies the failure: -EEXIST, -ENODEV and -ENOENT are the
 * warnings below, anything else is an error. */
typedef int (*module_loader_fn)(void *ctx, const char *path, struct evm_err *err);

struct modules_result {
    unsigned loaded;  /* newly loaded */
    unsigned skipped; /* already loaded / built in, no such device, or file absent: warnings */
};

/* Reads <dir>/load-order: one module per line, "<file>" or "<file>: <dep file>...", the file
 * names relative to dir (no '/'), blank lines and '#' comments ignored. A module with a
 * dependency list is loaded as soon as every listed module that is also in the file is done,
 * by up to `workers` threads at once (kernel module loading under emulation is slow and
 * largely parallel); a line without one depends on every line before it (plain sequential
 * order). The function returns when every module is done. "Already loaded" (EEXIST), "no such
 * device" (ENODEV, e.g. crc32c-intel without SSE4.2) and a missing file are warnings; any other
 * failure is an error naming the module. A missing load-order file means nothing to load (warning).
 */
int modules_load(const char *dir, module_loader_fn load, void *ctx, struct modules_result *res,
                 struct evm_err *err);
/* Same, with an explicit number of loading threads (modules_load uses the online CPUs, at
 * most 4). */
int modules_load_workers(const char *dir, module_loader_fn load, void *ctx, unsigned workers,
                         struct modules_result *res, struct evm_err *err);

/* The production loader: finit_module(2), asking the kernel to decompress .ko.xz/.ko.zst/
 * .ko.gz files itself. */
int modules_finit(void *ctx, const char *path, struct evm_err *err);

#endif
