/* launch.h — design §4 steps 12–13: the daemon's exact argv and environment, and the launch
 * banner. */
#ifndef EVM_LAUNCH_H
#define EVM_LAUNCH_H

#include <stdbool.h>
#include <stddef.h>

#include "cmdline.h"

#define LAUNCH_MAX_ARGS 20

struct launch {
    const char *argv[LAUNCH_MAX_ARGS];
    const char *envp[4];
    char port[8];
};

/* Fills l with: /usr/local/bin/ephemerd-linux serve [--config /etc/ephemerd/config.toml]
 * --data-dir /var/lib/ephemerd --containerd-tcp-port <port> --containerd-tcp-addr 0.0.0.0
 * --containerd-only [--dind [--dind-allow-privileged]], and PATH/HOME. The pointers stay valid
 * as long as l does. */
void launch_prepare(struct launch *l, const struct boot_params *p, bool host_config);

/* "launching ephemerd-linux (dind=<0|1> allow_privileged=<0|1> host_config=<yes|>)" */
void launch_banner(const struct boot_params *p, bool host_config, char *buf, size_t len);

#endif
