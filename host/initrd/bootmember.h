/* bootmember.h — the boot initrd's boot member (assets/config.toml when the host config is
 * usable, assets/manifest), built in memory: it is small (the config is at most 1 MiB) and
 * the same bytes go either after the binary member of a new output (bootinitrd.c) or over
 * the end of the previous output (bootwarm.c). Also the tail's inode numbers. */
#ifndef EVM_BOOTMEMBER_H
#define EVM_BOOTMEMBER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "digest.h"
#include "err.h"
#include "initrd/bootinitrd.h"

/* Inode numbers: small, unique per entry across the tail (design §2). */
enum { INO_ASSETS = 1, INO_BINARY = 2, INO_CONFIG = 3, INO_MANIFEST = 4 };

struct bootmember {
    unsigned char *bytes; /* malloc'd */
    size_t len, cap;
    bool config_embedded;
};

/* Builds the member for o's config, boot id, compression and entry mtime, with the
 * manifest listing the daemon binary's size and SHA-256. */
int bootmember_build(struct bootmember *m, const struct bootinitrd_opts *o, uint64_t bin_size,
                     const uint8_t bin_sha256[DIGEST_LEN], struct evm_err *err);

void bootmember_free(struct bootmember *m);

#endif
