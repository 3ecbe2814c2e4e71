/* sysctl.c — owns design §4 step 8: writing kernel parameters under /proc/sys (the root
 * is a parameter so tests use a fake tree), the defaults the daemon needs, and the bridge
 * netfilter ones set once br_netfilter is loaded. */
#include "sysctl.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "fileutil.h"

static int key_valid(const char *key)
{
    size_t n = strlen(key);
    if (n == 0 || n > 200 || key[0] == '.' || key[n - 1] == '.')
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = key[i];
        if (c == '.') {
            if (key[i + 1] == '.')
                return 0;
            continue;
        }
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

int sysctl_set(const char *procsys, const char *key, const char *value, struct evm_err *err)
{
    if (!procsys || !key || !value)
        return evm_errf(err, EINVAL, "sysctl_set: invalid arguments");
    if (!key_valid(key))
        return evm_errf(err, EINVAL, "sysctl \"%.64s\": not a valid key", key);
    size_t vlen = strlen(value);
    for (size_t i = 0; i < vlen; i++)
        if ((unsigned char)value[i] < 0x20 || value[i] == 0x7f)
            return evm_errf(err, EINVAL, "sysctl %s: value contains a control character", key);

    char path[PATH_MAX];
    int n = snprintf(path, sizeof(path), "%s/%s", procsys, key);
    if (n < 0 || (size_t)n >= sizeof(path))
        return evm_errf(err, ENAMETOOLONG, "sysctl %s: path too long", key);
    for (char *p = path + strlen(procsys) + 1; *p; p++)
        if (*p == '.')
            *p = '/';

    /* Never created: a sysctl that does not exist is reported, not invented. */
    int fd = open(path, O_WRONLY | O_TRUNC | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        if (e == ENOENT || e == ENOTDIR)
            return evm_errf(err, ENOENT, "sysctl %s: no such sysctl (%s)", key, path);
        return evm_errf(err, e, "sysctl %s: cannot open %s: %s", key, path, strerror(e));
    }
    char line[256];
    n = snprintf(line, sizeof(line), "%s\n", value);
    if (n < 0 || (size_t)n >= sizeof(line)) {
        close(fd);
        return evm_errf(err, EINVAL, "sysctl %s: value too long", key);
    }
    /* One write: /proc/sys handlers parse what a single write gives them. */
    ssize_t w;
    do
        w = write(fd, line, (size_t)n);
    while (w < 0 && errno == EINTR);
    int e = errno;
    if (close(fd) < 0 && w == n) {
        e = errno;
        w = -1;
    }
    if (w < 0)
        return evm_errf(err, e, "sysctl %s=%s: %s", key, value, strerror(e));
    if (w != n)
        return evm_errf(err, EIO, "sysctl %s=%s: short write", key, value);
    log_debug("sysctl %s=%s", key, value);
    return 0;
}

int sysctl_apply_defaults(const char *procsys, struct evm_err *err)
{
    int r = sysctl_set(procsys, "net.ipv4.ip_forward", "1", err);
    if (r < 0)
        return r;
    log_info("sysctls: net.ipv4.ip_forward=1");
    return 0;
}

int sysctl_bridge_nf(const char *procsys)
{
    static const char *const bridge[] = {"net.bridge.bridge-nf-call-iptables",
                                         "net.bridge.bridge-nf-call-ip6tables"};
    int set = 0;
    for (size_t i = 0; i < sizeof(bridge) / sizeof(bridge[0]); i++) {
        struct evm_err e2 = {0};
        int r = sysctl_set(procsys, bridge[i], "1", &e2);
        if (r == -ENOENT)
            log_warn("%s not available (br_netfilter not loaded): bridged container traffic "
                     "will bypass iptables",
                     bridge[i]);
        else if (r < 0)
            log_warn("%s", e2.msg);
        else
            set++;
    }
    if (set == 2)
        log_info("sysctls: net.bridge.bridge-nf-call-iptables=1, bridge-nf-call-ip6tables=1");
    return set;
}
