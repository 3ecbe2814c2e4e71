/* launch.c — the daemon's command line and environment. */
#include "launch.h"

#include <stdio.h>

#include "tail.h"

void launch_prepare(struct launch *l, const struct boot_params *p, bool host_config)
{
    size_t n = 0;
    snprintf(l->port, sizeof(l->port), "%u", p->containerd_port);
    l->argv[n++] = GUEST_DAEMON_PATH;
    l->argv[n++] = "serve";
    if (host_config) {
        l->argv[n++] = "--config";
        l->argv[n++] = GUEST_CONFIG_PATH;
    }
    l->argv[n++] = "--data-dir";
    l->argv[n++] = "/var/lib/ephemerd";
    l->argv[n++] = "--containerd-tcp-port";
    l->argv[n++] = l->port;
    l->argv[n++] = "--containerd-tcp-addr";
    l->argv[n++] = "0.0.0.0";
    l->argv[n++] = "--containerd-only";
    if (p->dind) {
        l->argv[n++] = "--dind";
        if (p->dind_allow_privileged)
            l->argv[n++] = "--dind-allow-privileged";
    }
    l->argv[n] = NULL;
    l->envp[0] = "PATH=/usr/bin:/usr/sbin:/bin:/sbin";
    l->envp[1] = "HOME=/root";
    l->envp[2] = NULL;
}

void launch_banner(const struct boot_params *p, bool host_config, char *buf, size_t len)
{
    snprintf(buf, len, "launching ephemerd-linux (dind=%d allow_privileged=%d host_config=%s)",
             p->dind ? 1 : 0, p->dind_allow_privileged ? 1 : 0, host_config ? "yes" : "");
}
