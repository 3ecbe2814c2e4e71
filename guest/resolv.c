/* resolv.c — owns design §4 step 9: <newroot>/etc/resolv.conf from the DNS servers (else
 * the router) DHCP gave, replaced atomically through guest/fsat.c (never through a
 * symlink). */
#include "resolv.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fsat.h"
#include "log.h"

#define RESOLV_HEADER "# written by ephemerd-init from DHCP\n"

static int put_ns(char *buf, size_t cap, size_t *len, uint32_t addr_be)
{
    uint8_t b[4];
    memcpy(b, &addr_be, sizeof(b));
    int n = snprintf(buf + *len, cap - *len, "nameserver %u.%u.%u.%u\n", b[0], b[1], b[2], b[3]);
    if (n < 0 || (size_t)n >= cap - *len)
        return -ENOSPC;
    *len += (size_t)n;
    return 0;
}

int resolv_format(const uint32_t *dns_be, unsigned ndns, uint32_t router_be, char *buf, size_t cap)
{
    size_t len = 0;
    if (cap < sizeof(RESOLV_HEADER))
        return -ENOSPC;
    memcpy(buf, RESOLV_HEADER, sizeof(RESOLV_HEADER));
    len = sizeof(RESOLV_HEADER) - 1;
    uint32_t used[RESOLV_MAX_NS];
    int count = 0;
    for (unsigned i = 0; dns_be && i < ndns && count < RESOLV_MAX_NS; i++) {
        if (dns_be[i] == 0)
            continue;
        bool dup = false;
        for (int j = 0; j < count; j++)
            dup = dup || used[j] == dns_be[i];
        if (dup)
            continue;
        if (put_ns(buf, cap, &len, dns_be[i]) < 0)
            return -ENOSPC;
        used[count++] = dns_be[i];
    }
    if (count == 0 && router_be != 0) {
        if (put_ns(buf, cap, &len, router_be) < 0)
            return -ENOSPC;
        count = 1;
    }
    return count;
}

int resolv_write(const char *newroot, const uint32_t *dns_be, unsigned ndns, uint32_t router_be,
                 struct evm_err *err)
{
    if (!newroot)
        return evm_errf(err, EINVAL, "resolv_write: invalid arguments");
    char text[256];
    int count = resolv_format(dns_be, ndns, router_be, text, sizeof(text));
    if (count < 0)
        return evm_errf(err, -count, "resolv.conf: text does not fit");
    if (count == 0) {
        log_warn("no DNS server and no router from DHCP: leaving %s/etc/resolv.conf as it is",
                 newroot);
        return 0;
    }
    int rootfd, dfd;
    int r = fsat_open_root(newroot, &rootfd, err);
    if (r < 0)
        return evm_err_wrap(err, "writing resolv.conf");
    r = fsat_open_dirs(rootfd, newroot, "etc", true, 0755, &dfd, err);
    close(rootfd);
    if (r < 0)
        return evm_err_wrap(err, "writing resolv.conf");
    char where[PATH_MAX];
    if (fsat_join(where, sizeof(where), newroot, "etc") < 0)
        snprintf(where, sizeof(where), "etc");
    fsat_remove_temps(dfd, "resolv.conf");
    bool same = fsat_same_file(dfd, "resolv.conf", text, strlen(text), -1, 0644);
    if (!same)
        r = fsat_replace_nosync(dfd, where, "resolv.conf", text, strlen(text), -1, 0644, err);
    close(dfd);
    if (r < 0)
        return evm_err_wrap(err, "writing resolv.conf");
    bool any_dns = false;
    for (unsigned i = 0; dns_be && i < ndns; i++)
        any_dns = any_dns || dns_be[i] != 0;
    log_info("resolv.conf: %d nameserver%s%s%s", count, count == 1 ? "" : "s",
             any_dns ? "" : " (the router: DHCP gave no DNS server)", same ? " (unchanged)" : "");
    return 0;
}
