/* baselist.h — the syntax of the base initrd list (initrd/README.md, "Format"): one
 * directive per line, fields separated by spaces or tabs, blank lines and lines starting
 * with '#' skipped. Each directive's field count, destination (absolute, below /, without
 * empty, '.' or '..' components) and octal mode are checked here, and a relative source is
 * taken from the list file's directory; what a directive puts in the initrd is the
 * builder's business (baseinitrd.c). Every error starts with "LIST:LINE: ". */
#ifndef EVM_BASELIST_H
#define EVM_BASELIST_H

#include <stdbool.h>

#include "err.h"

enum baselist_kind {
    BASELIST_DIR,    /* dir PATH MODE */
    BASELIST_INIT,   /* init PATH */
    BASELIST_ROOTFS, /* rootfs PATH */
    BASELIST_LINK,   /* link PATH TARGET */
    BASELIST_MODULE, /* module NAME [later|demand] [optional] */
    BASELIST_FILE,   /* file PATH SOURCE MODE */
    BASELIST_BIN,    /* bin PATH SOURCE */
};

/* When the guest loads a module (initrd/README.md, "Modules"). */
enum baselist_when {
    BASELIST_EAGER,  /* module NAME: by the init, before the network and the disk */
    BASELIST_LATER,  /* module NAME later: by the init, in the background after the launch */
    BASELIST_DEMAND, /* module NAME demand: shipped and indexed; loaded when asked for */
};

struct baselist_directive {
    enum baselist_kind kind;
    const char *dest;        /* the destination without its leading '/'; NULL for module */
    unsigned mode;           /* dir and file; 0 otherwise */
    const char *arg;         /* link: target; module: name; file, bin: the host source path */
    enum baselist_when when; /* module only */
    bool optional;           /* module only: a name the kernel lacks is skipped, not an error */
};

/* Called for each directive, in list order; `where` is "LIST:LINE". A negative return
 * stops the parse and is returned. */
typedef int (*baselist_fn)(void *ctx, const struct baselist_directive *d, const char *where,
                           struct evm_err *err);

int baselist_parse(const char *list, baselist_fn fn, void *ctx, struct evm_err *err);

/* "/a/b" → "a/b" (*out points into s); refuses relative paths, "/", empty, "." and ".."
 * components, "//" and a trailing '/'. */
int baselist_dest(const char *s, const char **out, const char *where, struct evm_err *err);

#endif
