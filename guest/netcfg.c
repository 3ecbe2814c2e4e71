/* netcfg.c — interface configuration over rtnetlink: link up, first ethernet interface,
 * MAC lookup, IPv4 address and default route. Requests are built by hand (no libmnl) and
 * every one is acknowledged (NLM_F_ACK) and checked. */
#include "netcfg.h"

#include <errno.h>
#include <poll.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <linux/if_arp.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include "log.h"

#define NL_BUF 8192
/* Upper bound on how long the kernel may take to answer one request. */
#define NL_RECV_TIMEOUT_S 5

struct nl_req {
    struct nlmsghdr h;
    char payload[512];
};

static int nl_open(struct evm_err *err)
{
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (fd < 0) {
        int e = errno;
        return evm_errf(err, e, "netlink socket: %s", strerror(e));
    }
    struct timeval tv = {.tv_sec = NL_RECV_TIMEOUT_S};
    struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
    if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0 ||
        bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        int e = errno;
        close(fd);
        return evm_errf(err, e, "netlink socket setup: %s", strerror(e));
    }
    return fd;
}

static void nl_addattr(struct nl_req *req, unsigned short type, const void *data,
                       unsigned short len)
{
    /* Callers only add a few small attributes; the payload buffer always has room. */
    struct rtattr *rta = (struct rtattr *)((char *)&req->h + NLMSG_ALIGN(req->h.nlmsg_len));
    rta->rta_type = type;
    rta->rta_len = (unsigned short)RTA_LENGTH(len);
    memcpy(RTA_DATA(rta), data, len);
    req->h.nlmsg_len = NLMSG_ALIGN(req->h.nlmsg_len) + RTA_ALIGN(rta->rta_len);
}

static ssize_t nl_recv(int fd, void *buf, size_t len, const char *what, struct evm_err *err)
{
    for (;;) {
        ssize_t n = recv(fd, buf, len, 0);
        if (n >= 0)
            return n;
        if (errno == EINTR)
            continue;
        int e = errno;
        if (e == EAGAIN || e == EWOULDBLOCK)
            e = ETIMEDOUT;
        return evm_errf(err, e, "%s: netlink receive: %s", what, strerror(e));
    }
}

/* Sends one request and waits for its ACK. Returns 0 or the kernel's negative errno
 * (with a message naming `what`). */
static int nl_talk(int fd, struct nl_req *req, const char *what, struct evm_err *err)
{
    static const uint32_t seq = 1;
    req->h.nlmsg_seq = seq;
    req->h.nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
    struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
    if (sendto(fd, req, req->h.nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0) {
        int e = errno;
        return evm_errf(err, e, "%s: netlink send: %s", what, strerror(e));
    }
    char buf[NL_BUF] __attribute__((aligned(NLMSG_ALIGNTO)));
    for (;;) {
        ssize_t n = nl_recv(fd, buf, sizeof(buf), what, err);
        if (n < 0)
            return (int)n;
        size_t left = (size_t)n;
        for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, left);
             h = NLMSG_NEXT(h, left)) {
            if (h->nlmsg_seq != seq || h->nlmsg_type != NLMSG_ERROR)
                continue;
            if (h->nlmsg_len < NLMSG_LENGTH(sizeof(struct nlmsgerr)))
                return evm_errf(err, EBADMSG, "%s: short netlink error message", what);
            const struct nlmsgerr *e = NLMSG_DATA(h);
            if (e->error == 0)
                return 0;
            int code = -e->error;
            return evm_errf(err, code, "%s: %s", what, strerror(code));
        }
    }
}

static int ifindex_of(const char *ifname, struct evm_err *err)
{
    if (!ifname || !ifname[0] || strlen(ifname) >= IFNAMSIZ)
        return evm_errf(err, EINVAL, "invalid interface name \"%s\"", ifname ? ifname : "");
    unsigned idx = if_nametoindex(ifname);
    if (idx == 0) {
        int e = errno == ENXIO || errno == 0 ? ENODEV : errno;
        return evm_errf(err, e, "interface %s: %s", ifname, strerror(e));
    }
    return (int)idx;
}

/* A netlink socket for a request about ifname, whose index goes to *idx. */
static int nl_open_for(const char *ifname, int *idx, struct evm_err *err)
{
    *idx = ifindex_of(ifname, err);
    return *idx < 0 ? *idx : nl_open(err);
}

/* Sets or clears IFF_UP on the interface idx (named ifname, for messages) through fd. */
static int link_set(int fd, int idx, const char *ifname, bool up, struct evm_err *err)
{
    struct nl_req req;
    memset(&req, 0, sizeof(req));
    req.h.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg));
    req.h.nlmsg_type = RTM_NEWLINK;
    struct ifinfomsg *ifi = NLMSG_DATA(&req.h);
    ifi->ifi_family = AF_UNSPEC;
    ifi->ifi_index = idx;
    ifi->ifi_flags = up ? IFF_UP : 0;
    ifi->ifi_change = IFF_UP;
    char what[64];
    snprintf(what, sizeof(what), "bringing %s %s", up ? "up" : "down", ifname);
    return nl_talk(fd, &req, what, err);
}

int netcfg_link_up(const char *ifname, struct evm_err *err)
{
    int idx;
    int fd = nl_open_for(ifname, &idx, err);
    if (fd < 0)
        return fd;
    int r = link_set(fd, idx, ifname, true, err);
    close(fd);
    return r;
}

int netcfg_links_down(unsigned *n, struct evm_err *err)
{
    *n = 0;
    struct if_nameindex *all = if_nameindex();
    if (!all)
        return evm_errf(err, errno, "listing the network interfaces: %s", strerror(errno));
    int fd = nl_open(err);
    int r = fd < 0 ? fd : 0;
    for (struct if_nameindex *i = all; fd >= 0 && i->if_index != 0; i++) {
        if (strcmp(i->if_name, "lo") == 0)
            continue;
        struct evm_err e = {0};
        int lr = link_set(fd, (int)i->if_index, i->if_name, false, &e);
        if (lr == 0)
            (*n)++;
        else if (lr != -ENODEV && r == 0) { /* gone meanwhile: nothing to bring down */
            r = lr;
            if (err)
                *err = e;
        }
    }
    if (fd >= 0)
        close(fd);
    if_freenameindex(all);
    return r;
}

#define LINK_DUMP_SEQ 2

/* The lowest-indexed ethernet interface seen so far in a link dump. */
struct eth_pick {
    char name[IFNAMSIZ];
    int idx; /* 0: none yet */
};

/* One RTM_NEWLINK message of the dump: kept when it is an ethernet interface (not loopback)
 * with a lower index than the pick so far. */
static void consider_link(const struct nlmsghdr *h, struct eth_pick *best)
{
    if (h->nlmsg_len < NLMSG_LENGTH(sizeof(struct ifinfomsg)))
        return;
    const struct ifinfomsg *ifi = NLMSG_DATA(h);
    if (ifi->ifi_type != ARPHRD_ETHER || (ifi->ifi_flags & IFF_LOOPBACK) ||
        (best->idx && ifi->ifi_index >= best->idx))
        return;
    unsigned alen = (unsigned)(h->nlmsg_len - NLMSG_LENGTH(sizeof(*ifi)));
    for (const struct rtattr *a = IFLA_RTA(ifi); RTA_OK(a, alen); a = RTA_NEXT(a, alen)) {
        size_t plen = RTA_PAYLOAD(a);
        if (a->rta_type != IFLA_IFNAME || plen == 0)
            continue;
        const char *name = RTA_DATA(a);
        size_t nl = strnlen(name, plen);
        if (nl == 0 || nl >= IFNAMSIZ)
            continue;
        memcpy(best->name, name, nl);
        best->name[nl] = '\0';
        best->idx = ifi->ifi_index;
    }
}

static int link_dump_request(int fd, struct evm_err *err)
{
    struct nl_req req;
    memset(&req, 0, sizeof(req));
    req.h.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg));
    req.h.nlmsg_type = RTM_GETLINK;
    req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    req.h.nlmsg_seq = LINK_DUMP_SEQ;
    ((struct ifinfomsg *)NLMSG_DATA(&req.h))->ifi_family = AF_UNSPEC;
    struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
    if (sendto(fd, &req, req.h.nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0) {
        int e = errno;
        return evm_errf(err, e, "listing interfaces: netlink send: %s", strerror(e));
    }
    return 0;
}

/* Reads one batch of the dump. Returns 1 once the dump is done, 0 to read on, or an
 * error. */
static int link_dump_read(int fd, struct eth_pick *best, struct evm_err *err)
{
    char buf[NL_BUF * 4] __attribute__((aligned(NLMSG_ALIGNTO)));
    ssize_t n = nl_recv(fd, buf, sizeof(buf), "listing interfaces", err);
    if (n < 0)
        return (int)n;
    if (n == 0)
        return evm_errf(err, EBADMSG, "listing interfaces: netlink dump ended early");
    size_t left = (size_t)n;
    for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
        if (h->nlmsg_seq != LINK_DUMP_SEQ)
            continue;
        if (h->nlmsg_type == NLMSG_DONE)
            return 1;
        if (h->nlmsg_type == NLMSG_ERROR) {
            const struct nlmsgerr *e = NLMSG_DATA(h);
            int code =
                h->nlmsg_len >= NLMSG_LENGTH(sizeof(*e)) && e->error < 0 ? -e->error : EBADMSG;
            return evm_errf(err, code, "listing interfaces: %s", strerror(code));
        }
        if (h->nlmsg_type == RTM_NEWLINK)
            consider_link(h, best);
    }
    return 0;
}

int netcfg_first_ethernet(char *ifname, size_t len, struct evm_err *err)
{
    int fd = nl_open(err);
    if (fd < 0)
        return fd;
    struct eth_pick best = {.name = "", .idx = 0};
    int r = link_dump_request(fd, err);
    while (r == 0)
        r = link_dump_read(fd, &best, err);
    close(fd);
    if (r < 0)
        return r;
    if (!best.idx)
        return evm_errf(err, ENODEV, "no ethernet interface found");
    if (strlen(best.name) >= len)
        return evm_errf(err, ENAMETOOLONG, "interface name %s does not fit", best.name);
    memcpy(ifname, best.name, strlen(best.name) + 1);
    return 0;
}

int netcfg_get_mac(const char *ifname, uint8_t mac[6], int *ifindex, struct evm_err *err)
{
    int idx = ifindex_of(ifname, err);
    if (idx < 0)
        return idx;
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        int e = errno;
        return evm_errf(err, e, "socket for %s: %s", ifname, strerror(e));
    }
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    memcpy(ifr.ifr_name, ifname, strlen(ifname) + 1);
    int r = ioctl(fd, SIOCGIFHWADDR, &ifr);
    int e = errno;
    close(fd);
    if (r != 0)
        return evm_errf(err, e, "reading MAC address of %s: %s", ifname, strerror(e));
    if (ifr.ifr_hwaddr.sa_family != ARPHRD_ETHER)
        return evm_errf(err, EINVAL, "%s is not an ethernet interface (hardware type %u)", ifname,
                        (unsigned)ifr.ifr_hwaddr.sa_family);
    memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
    if (ifindex)
        *ifindex = idx;
    return 0;
}

int netcfg_add_address(const char *ifname, uint32_t addr_be, unsigned prefix, struct evm_err *err)
{
    if (prefix > 32)
        return evm_errf(err, EINVAL, "invalid prefix length /%u for %s", prefix, ifname);
    int idx;
    int fd = nl_open_for(ifname, &idx, err);
    if (fd < 0)
        return fd;
    struct nl_req req;
    memset(&req, 0, sizeof(req));
    req.h.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifaddrmsg));
    req.h.nlmsg_type = RTM_NEWADDR;
    req.h.nlmsg_flags = NLM_F_CREATE | NLM_F_REPLACE;
    struct ifaddrmsg *ifa = NLMSG_DATA(&req.h);
    ifa->ifa_family = AF_INET;
    ifa->ifa_prefixlen = (unsigned char)prefix;
    ifa->ifa_scope = RT_SCOPE_UNIVERSE;
    ifa->ifa_index = (unsigned)idx;
    nl_addattr(&req, IFA_LOCAL, &addr_be, 4);
    nl_addattr(&req, IFA_ADDRESS, &addr_be, 4);
    if (prefix < 31) {
        uint32_t mask = prefix ? htonl(0xffffffffu << (32 - prefix)) : 0;
        uint32_t brd = addr_be | ~mask;
        nl_addattr(&req, IFA_BROADCAST, &brd, 4);
    }
    char what[96], a[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &addr_be, a, sizeof(a));
    snprintf(what, sizeof(what), "adding %s/%u to %s", a, prefix, ifname);
    int r = nl_talk(fd, &req, what, err);
    close(fd);
    return r;
}

static int route_request(int fd, int idx, uint32_t gw_be, bool onlink, const char *what,
                         struct evm_err *err)
{
    struct nl_req req;
    memset(&req, 0, sizeof(req));
    req.h.nlmsg_len = NLMSG_LENGTH(sizeof(struct rtmsg));
    req.h.nlmsg_type = RTM_NEWROUTE;
    req.h.nlmsg_flags = NLM_F_CREATE | NLM_F_REPLACE;
    struct rtmsg *rtm = NLMSG_DATA(&req.h);
    rtm->rtm_family = AF_INET;
    rtm->rtm_dst_len = 0;
    rtm->rtm_table = RT_TABLE_MAIN;
    rtm->rtm_protocol = RTPROT_DHCP;
    rtm->rtm_scope = RT_SCOPE_UNIVERSE;
    rtm->rtm_type = RTN_UNICAST;
    if (onlink)
        rtm->rtm_flags = RTNH_F_ONLINK;
    uint32_t oif = (uint32_t)idx;
    nl_addattr(&req, RTA_GATEWAY, &gw_be, 4);
    nl_addattr(&req, RTA_OIF, &oif, 4);
    return nl_talk(fd, &req, what, err);
}

int netcfg_add_default_route(const char *ifname, uint32_t gw_be, struct evm_err *err)
{
    int idx;
    int fd = nl_open_for(ifname, &idx, err);
    if (fd < 0)
        return fd;
    char what[96], g[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &gw_be, g, sizeof(g));
    snprintf(what, sizeof(what), "adding default route via %s dev %s", g, ifname);
    int r = route_request(fd, idx, gw_be, false, what, err);
    if (r == -ENETUNREACH) {
        /* The gateway is outside every subnet on the link (some clouds hand out a /32):
         * it is still directly reachable on the link. */
        log_warn("gateway %s is outside the subnet of %s; adding it on-link", g, ifname);
        r = route_request(fd, idx, gw_be, true, what, err);
    }
    close(fd);
    return r;
}

/* A socket that receives the link notifications, or -1 (then the wait only ticks). */
static int link_events(void)
{
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);
    if (fd < 0)
        return -1;
    struct sockaddr_nl sa = {.nl_family = AF_NETLINK, .nl_groups = RTMGRP_LINK};
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

int netcfg_wait_ethernet(char *ifname, size_t len, unsigned tick_ms, bool (*give_up)(void *ctx),
                         void *ctx, struct evm_err *err)
{
    int ev = link_events();
    int r;
    for (;;) {
        /* Subscribed first, then looked: a link made in between still wakes the poll. */
        r = netcfg_first_ethernet(ifname, len, err);
        if (r != -ENODEV || give_up(ctx))
            break;
        if (ev < 0) {
            poll(NULL, 0, (int)tick_ms);
            continue;
        }
        struct pollfd pfd = {.fd = ev, .events = POLLIN};
        if (poll(&pfd, 1, (int)tick_ms) > 0) {
            char drain[4096];
            while (recv(ev, drain, sizeof(drain), 0) > 0)
                ;
        }
    }
    if (ev >= 0)
        close(ev);
    return r;
}
