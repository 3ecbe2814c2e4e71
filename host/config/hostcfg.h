/* hostcfg.h — the host's config.toml (design §2 "The host config"): read it safely,
 * keep its exact bytes for embedding, and decode the few keys the agent uses. */
#ifndef EVM_HOSTCFG_H
#define EVM_HOSTCFG_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"
#include "log.h"

/* ---- the keys the agent reads: one table (hostcfg.c) of names, types, limits and defaults,
 * used by the config check, by every VM backend (the VM's size) and by `config show`. */

enum hostcfg_key {
    HOSTCFG_CPUS,
    HOSTCFG_MEMORY_MB,
    HOSTCFG_DISK_SIZE_GB,
    HOSTCFG_SWAP_MB,
    HOSTCFG_DIND_ENABLED,
    HOSTCFG_DIND_ALLOW_PRIVILEGED,
    HOSTCFG_LOG_LEVEL,
    HOSTCFG_LOG_FORMAT,
    HOSTCFG_NKEYS
};

enum hostcfg_kind { HOSTCFG_INT, HOSTCFG_BOOL, HOSTCFG_CHOICE };

/* The defaults: what the agent uses for a key the file does not set (or without a usable
 * file). vm.linux.swap_mb's is the kernel command line's, CMDLINE_DEFAULT_SWAP_MB. */
#define HOSTCFG_DEFAULT_CPUS 2u
#define HOSTCFG_DEFAULT_MEMORY_MB 2048u
#define HOSTCFG_DEFAULT_DISK_GB 64u
#define HOSTCFG_DEFAULT_LOG_LEVEL "info"
#define HOSTCFG_DEFAULT_LOG_FORMAT "text"

/* vm.linux.memory_mb's minimum is the smallest VM this build's backend boots, so that a
 * value the config check accepts always boots: QEMU 128 MiB (Linux hosts), Hyper-V through
 * HCS 256 MiB (Windows hosts). The backend is chosen by the build as its sources are
 * (vm_qemu_posix.c natively, vm_hcs_win.c for Windows); each backend's vm_backend() gives
 * its own constant, and asserts at compile time that it is this one. */
#define HOSTCFG_QEMU_MIN_MEMORY_MB 128u
#define HOSTCFG_HCS_MIN_MEMORY_MB 256u
#ifdef _WIN32
#define HOSTCFG_MIN_MEMORY_MB HOSTCFG_HCS_MIN_MEMORY_MB
#else
#define HOSTCFG_MIN_MEMORY_MB HOSTCFG_QEMU_MIN_MEMORY_MB
#endif

struct hostcfg_keydef {
    const char *path; /* "vm.linux.cpus" */
    enum hostcfg_kind kind;
    long long min, max;         /* HOSTCFG_INT: the accepted range, inclusive */
    long long def;              /* HOSTCFG_INT, HOSTCFG_BOOL (0/1): the default */
    const char *const *choices; /* HOSTCFG_CHOICE: the accepted strings, NULL-terminated */
    const char *choice_list;    /* HOSTCFG_CHOICE: "text, json", for messages */
    const char *def_str;        /* HOSTCFG_CHOICE: the default */
};

/* The table's row for k (k < HOSTCFG_NKEYS). */
const struct hostcfg_keydef *hostcfg_keydef(enum hostcfg_key k);

/* What every VM backend checks before it starts a VM: cpus and memory_mb within the rows of
 * vm.linux.cpus and vm.linux.memory_mb. -EINVAL naming the value and its range otherwise. */
int hostcfg_check_vm_size(unsigned cpus, unsigned memory_mb, struct evm_err *err);

/* The values the file sets. A key is set when line[k] != 0; the fields of unset keys are 0,
 * false or "". Read values through hostcfg_uint / hostcfg_bool / hostcfg_str, which give the
 * default for an unset key. */
struct hostcfg_settings {
    /* [vm.linux] */
    unsigned cpus;
    unsigned memory_mb;
    unsigned disk_size_gb;
    unsigned swap_mb; /* ephemerd.swap_mb (0 = no swap) */
    /* [dind] */
    bool dind_enabled;
    bool dind_allow_privileged;
    /* [log] */
    char log_level[16];
    char log_format[16];
    int line[HOSTCFG_NKEYS]; /* line of each key's definition in the file, 0 = not set */
};

/* The value the agent uses for an integer key: the file's, or the key's default. */
unsigned hostcfg_uint(const struct hostcfg_settings *s, enum hostcfg_key k);
/* The same for a boolean key. */
bool hostcfg_bool(const struct hostcfg_settings *s, enum hostcfg_key k);
/* The same for a string key (log.level, log.format). */
const char *hostcfg_str(const struct hostcfg_settings *s, enum hostcfg_key k);

/* The agent's `run` applies [log] level and format to its own logging each time it loads the
 * file (log_configure: the command line's -v keeps its level). */
void hostcfg_apply_log(const struct hostcfg_settings *s);
/* The same from the file at path, read quietly (no notes, no warnings), for `run`'s first
 * lines: a missing, unusable or refused file gives the defaults (the boot's hostcfg_load then
 * says what is wrong with it). */
void hostcfg_apply_log_file(const char *path);

enum hostcfg_state {
    HOSTCFG_MISSING = 0, /* no file: boot without it (info) */
    HOSTCFG_UNUSABLE,    /* unreadable or not a regular file: boot without it (warning) */
    HOSTCFG_OK,          /* read and parsed: embed bytes unchanged */
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
