/* cmdline.h — the kernel command line (design §3): one key table in cmdline.c drives both
 * the host's builder and the guest's parser, so the two cannot drift apart. */
#ifndef EVM_CMDLINE_H
#define EVM_CMDLINE_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"
#include "tail.h"

/* x86 COMMAND_LINE_SIZE, including the terminating NUL. */
#define CMDLINE_MAX 2048

#define CMDLINE_DEFAULT_PORT 10000u
#define CMDLINE_DEFAULT_SWAP_MB 4096u
#define CMDLINE_SWAP_MB_MAX 1048576u /* 1 TiB of swap: anything above is a typo */
#define CMDLINE_DEFAULT_DISK_TIMEOUT 60u

/* The guest's swapfile rule (guest/swap.c swap_size_mb, docs/guest-init.md), here because the
 * host's config check warns by it too: ephemerd.swap_mb asks for a size; the swapfile gets at
 * most 1/SWAP_FS_DIVISOR of the root filesystem and leaves SWAP_RESERVE_MB of its free space;
 * below SWAP_MIN_MB there is no swap at all. */
#define SWAP_FS_DIVISOR 4u
#define SWAP_RESERVE_MB 256u
#define SWAP_MIN_MB 64u

enum on_fatal { ON_FATAL_POWEROFF = 0, ON_FATAL_SHELL, ON_FATAL_HANG };

struct boot_params {
    unsigned containerd_port; /* 1–65535 */
    char root_disk[64];       /* "/dev/<name>", empty when not given */
    bool dind;
    bool dind_allow_privileged;
    char boot_id[BOOT_ID_HEX_LEN + 1]; /* empty when not given */
    unsigned swap_mb;                  /* 0 = no swap; a request, see SWAP_FS_DIVISOR */
    unsigned disk_timeout;             /* seconds */
    enum on_fatal on_fatal;
};

void boot_params_defaults(struct boot_params *p);

/* Builds "rdinit=/init <ephemerd.* keys> panic=-1 console=ttyS0,115200 <extras…>".
 * Keys at their default value are still emitted (explicit is easier to debug), except
 * the dind flags, which appear only when set. Each extra must be one token: no whitespace,
 * quotes or control characters. Fails with -EINVAL naming the bad value, or -E2BIG when
 * the line would not fit CMDLINE_MAX. */
int cmdline_build(const struct boot_params *p, const char *const *extras, size_t nextras, char *buf,
                  size_t cap, struct evm_err *err);

typedef void (*cmdline_warn_fn)(void *ctx, const char *msg);

/* Parses a kernel command line (as in /proc/cmdline) into p, starting from defaults.
 * Unknown "ephemerd.*" keys produce a warning through warn (may be NULL); other kernel
 * parameters are ignored. An invalid value for a known key is an error naming the key. */
int cmdline_parse(const char *line, struct boot_params *p, cmdline_warn_fn warn, void *ctx,
                  struct evm_err *err);

const char *on_fatal_name(enum on_fatal f);

#endif
