/* hostcfg.h — the host's config.toml (design §2 "The host config"): read it safely,
 * keep its exact bytes for embedding, and decode the few keys the agent uses. */
#ifndef EVM_HOSTCFG_H
#define EVM_HOSTCFG_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"
#include "log.h"

/* [vm.linux] disk_size_gb when the file does not set it (the agent's root disk size). */
#define HOSTCFG_DEFAULT_DISK_GB 64u

enum hostcfg_state {
    HOSTCFG_MISSING = 0, /* no file: boot without it (info) */
    HOSTCFG_UNUSABLE,    /* unreadable or not a regular file: boot without it (warning) */
    HOSTCFG_OK,          /* read and parsed: embed bytes unchanged */
};

struct hostcfg_settings {
    /* [vm.linux] */
    unsigned cpus;         /* 0 = not set */
    unsigned memory_mb;    /* 0 = not set */
    unsigned disk_size_gb; /* 0 = not set */
    unsigned swap_mb;      /* ephemerd.swap_mb; meaningful when swap_mb_set (0 = no swap) */
    bool swap_mb_set;
    /* [dind] */
    bool dind_enabled;
    bool dind_allow_privileged;
    /* [log] */
    char log_level[16];  /* empty = not set */
    char log_format[16]; /* empty = not set */
};

struct hostcfg {
    enum hostcfg_state state;
    char *bytes; /* exact file bytes when state == HOSTCFG_OK, else NULL */
    size_t len;
    struct hostcfg_settings settings;
    char reason[256]; /* why the file is missing or unusable (for logs) */
};

/* Loads path. Returns 0 with state MISSING/UNUSABLE (and logs info/warning) when the file
 * cannot be used; returns a negative errno with a message for a file that must stop the
 * boot: larger than HOSTCFG_MAX_BYTES (-EFBIG), or a malformed value in a key the agent
 * uses (-EINVAL, message "<path>:<line>: <key>: <what>"). Never blocks on a FIFO. A file
 * that loads has its settings checked (hostcfg_check_settings), each note logged as
 * "<path>: <note>" at its level. */
int hostcfg_load(const char *path, struct hostcfg *cfg, struct evm_err *err);

typedef void (*hostcfg_note_fn)(void *ctx, enum log_level level, const char *msg);

/* Settings that are accepted and boot, but not as written (docs/host-config.md, "Swap, and the
 * checks of settings that boot but not as written"): calls note once for each, LOG_WARN for what
 * the operator wrote, LOG_INFO for a default that will be adjusted. Returns how many notes there
 * were.
 *  - vm.linux.swap_mb from 1 to SWAP_MIN_MB - 1: the guest makes no swap (warning);
 *  - the swap asked for (swap_mb, or the default CMDLINE_DEFAULT_SWAP_MB) above
 *    1/SWAP_FS_DIVISOR of the root disk (disk_size_gb or HOSTCFG_DEFAULT_DISK_GB): the guest
 *    caps it (warning when swap_mb is set, info for the default). */
unsigned hostcfg_check_settings(const struct hostcfg_settings *s, hostcfg_note_fn note, void *ctx);

/* Decodes the agent's keys from config bytes; name is used in messages. */
int hostcfg_parse(const char *name, const char *bytes, size_t len, struct hostcfg_settings *s,
                  struct evm_err *err);

void hostcfg_free(struct hostcfg *cfg);

#endif
