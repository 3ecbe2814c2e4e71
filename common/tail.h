/* tail.h — the host/guest contract for the per-boot initrd tail (design §2): entry
 * names, modes, size limits and where the guest stages the host config. */
#ifndef EVM_TAIL_H
#define EVM_TAIL_H

#define TAIL_DIR "assets"
#define TAIL_BINARY "assets/ephemerd-linux"
#define TAIL_CONFIG "assets/config.toml"
#define TAIL_MANIFEST "assets/manifest"

#define TAIL_DIR_MODE 0755u
#define TAIL_BINARY_MODE 0755u
#define TAIL_CONFIG_MODE 0600u
#define TAIL_MANIFEST_MODE 0600u

/* Every tail member starts on this boundary (the kernel's newc alignment). */
#define TAIL_ALIGN 4u

/* The host refuses a config.toml larger than this. */
#define HOSTCFG_MAX_BYTES (1024u * 1024u)

/* The manifest never exceeds this (readers refuse larger). */
#define MANIFEST_MAX_BYTES (16u * 1024u)

#define BOOT_ID_HEX_LEN 32

/* Guest-side paths. */
#define GUEST_CONFIG_DIR "/etc/ephemerd"
#define GUEST_CONFIG_PATH "/etc/ephemerd/config.toml"
#define GUEST_DAEMON_PATH "/usr/local/bin/ephemerd-linux"

#endif
