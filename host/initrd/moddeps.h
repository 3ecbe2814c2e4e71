/* moddeps.h — kernel-module dependency resolution for the base initrd (initrd/README.md,
 * "Modules"): reads a modules directory's modules.dep (written by depmod) and
 * modules.builtin, treats '-' and '_' in module names as the same, and emits a requested
 * module after its dependencies — depth-first, visited last-first as modprobe loads them,
 * each module once — keeping the text of a load list such as /modules/load-order
 * ("<prefix><path>: <prefix><dependency path>...", one line per module, in emission order;
 * paths as modules.dep gives them). A dependency cycle, a dependency without its own
 * modules.dep line and a name in neither file are errors. */
#ifndef EVM_MODDEPS_H
#define EVM_MODDEPS_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"
#include "initrd/strvec.h"

struct kmod;

/* One module to put in the initrd, called after its dependencies and once per module: name
 * is its normalized name, rel its path as modules.dep gives it, relative to the modules
 * directory (e.g. "kernel/drivers/block/virtio_blk.ko", "kernel/fs/ext4/ext4.ko.xz"), src
 * its host path. */
typedef int (*moddeps_emit_fn)(void *ctx, const char *name, const char *rel, const char *src,
                               const char *where, struct evm_err *err);

struct moddeps {
    const char *modules_dir;
    bool loaded;
    char *dep_text; /* modules.dep; the kmods point into it */
    struct kmod *mods;
    size_t nmods;
    struct strvec builtin; /* normalized names from modules.builtin */
    const char *prefix;    /* before every path of the load list ("" by default) */
    char *load_order;      /* NUL-terminated; NULL until the first module */
    size_t lo_len, lo_cap;
};

/* What a module name is in the modules directory. */
enum moddeps_kind { MODDEPS_UNKNOWN, MODDEPS_MODULE, MODDEPS_BUILTIN };

void moddeps_init(struct moddeps *db, const char *modules_dir);

/* The load list's paths start with prefix (e.g. "6.1.0-57-amd64/"); kept, not copied. */
void moddeps_set_prefix(struct moddeps *db, const char *prefix);

/* Reads modules.dep and modules.builtin (once; later calls do nothing). A missing
 * modules.builtin is a warning: no module is then known to be built in. Errors name the
 * file and, for a malformed modules.dep line, its number. */
int moddeps_load(struct moddeps *db, struct evm_err *err);

/* Emits module `name` and its dependencies not emitted yet, through emit(ctx, ...). A name
 * found only in modules.builtin emits nothing and sets *builtin. `where` (e.g. "list:12")
 * starts every error message. */
int moddeps_add(struct moddeps *db, const char *name, const char *where, moddeps_emit_fn emit,
                void *ctx, bool *builtin, struct evm_err *err);

/* Whether name (normalized as moddeps_name does) is a module of modules.dep, built in, or
 * neither. moddeps_load first. */
enum moddeps_kind moddeps_lookup(const struct moddeps *db, const char *name);

/* The load list so far ("" before the first module). */
const char *moddeps_load_order(const struct moddeps *db, size_t *len);

/* Hands over the load list so far (malloc'd, NUL-terminated; NULL when empty) and starts a
 * new one: modules emitted before stay emitted (a later list never repeats them). */
char *moddeps_take_load_order(struct moddeps *db, size_t *len);

void moddeps_free(struct moddeps *db);

/* The normalized module name of a module file or name: its last path component, up to
 * ".ko", with '-' as '_' ("kernel/x/hyperv-keyboard.ko.xz" → "hyperv_keyboard"). */
int moddeps_name(const char *file, char **name, struct evm_err *err);

#endif
