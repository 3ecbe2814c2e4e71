/* modules.h — design §4 step 3 and the modules after the launch: load the kernel modules a
 * load list names (/modules/load-order, load-later, load-demand, written by the base initrd
 * builder), each after its dependencies, several at once, with finit_module — in the
 * foreground or on a thread of its own. */
#ifndef EVM_MODULES_H
#define EVM_MODULES_H

#include <stdbool.h>
#include <stdint.h>

#include "err.h"

/* Loads one module file, rel relative to dirfd; returns 0 or a negative errno with a
 * message in err (production: modules_finit). The errno classifies the failure: -EEXIST,
 * -ENODEV and -ENOENT are the warnings below, anything else is an error. */
typedef int (*module_loader_fn)(void *ctx, int dirfd, const char *rel, struct evm_err *err);

struct modules_result {
    unsigned loaded;  /* newly loaded */
    unsigned skipped; /* already loaded / built in, no such device, or file absent: warnings */
    bool no_list;     /* the load list does not exist (nothing was loaded) */
    uint64_t ms;      /* how long it took (CLOCK_MONOTONIC) */
};

/* Reads the load list `list` (a name relative to dirfd): one module per line, "<path>" or
 * "<path>: <dependency path>...", the paths relative to dirfd ('/'-separated, no empty, "."
 * or ".." components, not absolute), blank lines and '#' comments ignored. A module with a
 * dependency list is loaded as soon as every listed module that is also in the list is done
 * (one not in it was loaded by an earlier list, is built in or was not shipped), by up to
 * `workers` threads at once (1..8; kernel module loading under emulation is slow and largely
 * parallel); a line without one depends on every line before it (plain sequential order).
 * Returns when every module is done. "Already loaded" (EEXIST), "no such device" (ENODEV,
 * e.g. crc32c-intel without SSE4.2) and a missing file are warnings; any other failure is
 * an error naming the module. A missing list loads nothing and sets res->no_list. */
int modules_load_at(int dirfd, const char *list, module_loader_fn load, void *ctx, unsigned workers,
                    struct modules_result *res, struct evm_err *err);

/* <dir>/load-order with an explicit number of threads; a missing list is a warning. */
int modules_load_workers(const char *dir, module_loader_fn load, void *ctx, unsigned workers,
                         struct modules_result *res, struct evm_err *err);

/* The same with modules_default_workers(). */
int modules_load(const char *dir, module_loader_fn load, void *ctx, struct modules_result *res,
                 struct evm_err *err);

/* The online CPUs, at most 4. */
unsigned modules_default_workers(void);

/* The production loader: finit_module(2) on openat(dirfd, rel), asking the kernel to
 * decompress .ko.xz/.ko.zst/.ko.gz files itself. */
int modules_finit(void *ctx, int dirfd, const char *rel, struct evm_err *err);

/* ---- a load on a thread of its own ---------------------------------------------------------- */

struct modules_job;

/* Starts modules_load_at(dirfd, list, ...) on a new thread. dirfd and ctx must stay valid
 * until modules_job_wait. The thread has every signal blocked. */
int modules_job_start(int dirfd, const char *list, module_loader_fn load, void *ctx,
                      unsigned workers, struct modules_job **job, struct evm_err *err);

/* Waits for the job, frees it and returns its result (and error message). */
int modules_job_wait(struct modules_job *job, struct modules_result *res, struct evm_err *err);

#endif
