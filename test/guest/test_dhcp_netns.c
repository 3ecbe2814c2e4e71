/* test_dhcp_netns.c — the DHCP client (guest/dhcp.c, guest/netcfg.c) against a real
 * server. Each test builds two network namespaces joined by a veth pair:
 *
 *   ip netns add evm-dhcp-s-<pid>; ip netns add evm-dhcp-c-<pid>
 *   ip link add evmc<pid> netns evm-dhcp-c-<pid> address 02:00:00:d7:00:02 type veth
 *       peer name evms<pid> netns evm-dhcp-s-<pid>
 *   ip -n evm-dhcp-s-<pid> addr add 10.213.7.1/24 dev evms<pid>
 *   ip -n evm-dhcp-s-<pid> link set lo up; ip -n evm-dhcp-s-<pid> link set evms<pid> up
 *   ip netns exec evm-dhcp-s-<pid> dnsmasq --no-daemon ...   (server test only; see
 *       env_setup for the full argument list; --no-ping skips its 3 s address check)
 *
 * and runs the client in a forked child that joins the client namespace (setns), so the
 * host's interfaces are never touched. Teardown kills dnsmasq's process group and deletes
 * both namespaces (which destroys the veth pair) on every path. Skipped with a message
 * when not root or when `ip netns` does not work (EVM_REQUIRE_NETNS=1 makes that a
 * failure instead). netcfg_links_down is tested in an unshared namespace of its own. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netpacket/packet.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "dhcp.h"
#include "log.h"
#include "netcfg.h"
#include "testutil.h"

#define SUBNET "10.213.7"
#define CLIENT_MAC "02:00:00:d7:00:02"
/* Generous upper bound on how long a client child may run before the test gives up. */
#define CHILD_LIMIT_MS 60000

struct env {
    char srv_ns[32], cli_ns[32], srv_if[IFNAMSIZ], cli_if[IFNAMSIZ];
    char *dir;
    pid_t dnsmasq;
    bool srv_ns_made, cli_ns_made;
};

/* What the client child reports back through a pipe. */
struct result {
    int rc;
    struct dhcp_lease lease;
    char msg[512];
    int first_rc;
    char first_if[IFNAMSIZ];
    int mac_rc;
    uint8_t mac[6];
};

static int sh(const char *fmt, ...) EVM_PRINTF(1, 2);
static int sh(const char *fmt, ...)
{
    char cmd[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    int st = system(cmd);
    return st != -1 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Output of a shell command, malloc'd; fails the test when it cannot run. */
static char *sh_out(const char *fmt, ...) EVM_PRINTF(1, 2);
static char *sh_out(const char *fmt, ...)
{
    char cmd[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    FILE *f = popen(cmd, "r");
    if (!f)
        fail_msg("popen %s failed", cmd);
    size_t cap = 8192, len = 0;
    char *buf = calloc(1, cap);
    assert_non_null(buf);
    size_t n;
    while (len + 1 < cap && (n = fread(buf + len, 1, cap - 1 - len, f)) > 0)
        len += n;
    pclose(f);
    return buf;
}

static const char *skip_reason(void)
{
    if (geteuid() != 0)
        return "not root";
    if (sh("ip netns list >/dev/null 2>&1") != 0)
        return "`ip netns` is unavailable";
    return NULL;
}

static int env_setup(void **state, bool with_server)
{
    struct env *e = calloc(1, sizeof(*e));
    assert_non_null(e);
    *state = e;
    e->dnsmasq = -1;
    const char *why = skip_reason();
    if (why) {
        if (getenv("EVM_REQUIRE_NETNS"))
            fail_msg("netns test required but %s", why);
        return 0; /* the test itself skips */
    }
    unsigned id = (unsigned)getpid() % 10000000u;
    snprintf(e->srv_ns, sizeof(e->srv_ns), "evm-dhcp-s-%u", id);
    snprintf(e->cli_ns, sizeof(e->cli_ns), "evm-dhcp-c-%u", id);
    snprintf(e->srv_if, sizeof(e->srv_if), "evms%u", id);
    snprintf(e->cli_if, sizeof(e->cli_if), "evmc%u", id);
    e->dir = tu_tmpdir();
    /* Leftovers of a killed earlier run with the same pid would make `add` fail. */
    sh("ip netns del %s 2>/dev/null; ip netns del %s 2>/dev/null", e->srv_ns, e->cli_ns);
    if (sh("ip netns add %s", e->srv_ns) != 0) {
        if (getenv("EVM_REQUIRE_NETNS"))
            fail_msg("ip netns add %s failed", e->srv_ns);
        return 0; /* e.g. a container without CAP_SYS_ADMIN: the test skips */
    }
    e->srv_ns_made = true;
    if (sh("ip netns add %s", e->cli_ns) != 0)
        return -1;
    e->cli_ns_made = true;
    if (sh("ip link add %s netns %s address " CLIENT_MAC " type veth peer name %s netns %s",
           e->cli_if, e->cli_ns, e->srv_if, e->srv_ns) != 0 ||
        sh("ip -n %s addr add " SUBNET ".1/24 dev %s", e->srv_ns, e->srv_if) != 0 ||
        sh("ip -n %s link set lo up", e->srv_ns) != 0 ||
        sh("ip -n %s link set %s up", e->srv_ns, e->srv_if) != 0)
        return -1;
    if (!with_server)
        return 0;
    if (sh("command -v dnsmasq >/dev/null || test -x /usr/sbin/dnsmasq") != 0)
        return -1;
    char iface[64], leases[512], pidf[512], logf[512];
    snprintf(iface, sizeof(iface), "--interface=%s", e->srv_if);
    snprintf(leases, sizeof(leases), "--dhcp-leasefile=%s/leases", e->dir);
    snprintf(pidf, sizeof(pidf), "--pid-file=%s/dnsmasq.pid", e->dir);
    snprintf(logf, sizeof(logf), "%s/dnsmasq.log", e->dir);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        setpgid(0, 0);
        int fd = open(logf, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        setenv("PATH", "/usr/sbin:/usr/bin:/sbin:/bin", 1);
        execlp("ip", "ip", "netns", "exec", e->srv_ns, "dnsmasq", "--no-daemon",
               "--conf-file=/dev/null", "--port=0", iface, "--except-interface=lo",
               "--dhcp-range=" SUBNET ".50," SUBNET ".150,255.255.255.0,1h",
               "--dhcp-option=option:router," SUBNET ".1",
               "--dhcp-option=option:dns-server," SUBNET ".2," SUBNET ".3", "--dhcp-authoritative",
               "--no-ping", leases, pidf, "--user=root", "--group=root", "--log-dhcp",
               "--log-facility=-", (char *)NULL);
        _exit(127);
    }
    setpgid(pid, pid); /* also here, so teardown can kill the group whoever runs first */
    e->dnsmasq = pid;
    return 0;
}

static int setup_server(void **state)
{
    return env_setup(state, true);
}

static int setup_no_server(void **state)
{
    return env_setup(state, false);
}

static int teardown(void **state)
{
    struct env *e = *state;
    if (!e)
        return 0;
    if (e->dnsmasq > 0) {
        kill(-e->dnsmasq, SIGKILL);
        kill(e->dnsmasq, SIGKILL);
        while (waitpid(e->dnsmasq, NULL, 0) < 0 && errno == EINTR)
            ;
    }
    if (e->cli_ns_made)
        sh("ip netns del %s", e->cli_ns);
    if (e->srv_ns_made)
        sh("ip netns del %s", e->srv_ns);
    if (e->dir) {
        tu_rmrf(e->dir);
        free(e->dir);
    }
    free(e);
    return 0;
}

static void skip_unless_ready(const struct env *e)
{
    if (!e->srv_ns_made) {
        const char *why = skip_reason();
        fprintf(stderr, "test_dhcp_netns: skipping: %s\n",
                why ? why : "cannot create a network namespace");
        skip();
    }
}

static char *dnsmasq_log(const struct env *e)
{
    char *p = tu_path(e->dir, "dnsmasq.log");
    char *s = tu_read(p, NULL);
    free(p);
    if (getenv("EVM_DHCP_SHOW_LOG"))
        fprintf(stderr, "%s\n", s ? s : "");
    return s ? s : strdup("(no dnsmasq log)");
}

/* Runs fn in a child inside namespace ns (NULL: a fresh, empty one) and returns its report.
 * The child is killed if it outlives CHILD_LIMIT_MS. */
static void in_child(const char *ns, void (*fn)(const char *ifname, struct result *),
                     const char *ifname, struct result *res)
{
    int p[2];
    assert_int_equal(pipe2(p, O_CLOEXEC), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(p[0]);
        struct result r;
        memset(&r, 0, sizeof(r));
        r.rc = -EPERM;
        int ok;
        if (ns) {
            char path[128];
            snprintf(path, sizeof(path), "/run/netns/%s", ns);
            int fd = open(path, O_RDONLY | O_CLOEXEC);
            ok = fd >= 0 && setns(fd, CLONE_NEWNET) == 0;
        } else {
            ok = unshare(CLONE_NEWNET) == 0;
        }
        if (ok)
            fn(ifname, &r);
        else
            snprintf(r.msg, sizeof(r.msg), "entering the namespace: %s", strerror(errno));
        ssize_t w = write(p[1], &r, sizeof(r));
        _exit(w == (ssize_t)sizeof(r) ? 0 : 1);
    }
    close(p[1]);
    memset(res, 0, sizeof(*res));
    size_t got = 0;
    struct pollfd pfd = {.fd = p[0], .events = POLLIN};
    while (got < sizeof(*res)) {
        int pr = poll(&pfd, 1, CHILD_LIMIT_MS);
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr <= 0)
            break;
        ssize_t n = read(p[0], (char *)res + got, sizeof(*res) - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(p[0]);
    if (got < sizeof(*res))
        kill(pid, SIGKILL);
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    if (got < sizeof(*res))
        fail_msg("client child gave no report (status 0x%x)", st);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static void client_configure(const char *ifname, struct result *r)
{
    (void)ifname;
    struct evm_err err = {0};
    r->first_rc = netcfg_first_ethernet(r->first_if, sizeof(r->first_if), &err);
    if (r->first_rc == 0)
        r->mac_rc = netcfg_get_mac(r->first_if, r->mac, NULL, &err);
    /* NULL: net_configure finds the interface itself, as the init does. */
    r->rc = net_configure(NULL, 20000, &r->lease, &err);
    snprintf(r->msg, sizeof(r->msg), "%s", err.msg);
}

static void client_no_server(const char *ifname, struct result *r)
{
    struct evm_err err = {0};
    r->rc = net_configure(ifname, 3000, &r->lease, &err);
    snprintf(r->msg, sizeof(r->msg), "%s", err.msg);
}

static void client_empty_ns(const char *ifname, struct result *r)
{
    struct evm_err err = {0};
    r->first_rc = netcfg_first_ethernet(r->first_if, sizeof(r->first_if), &err);
    r->mac_rc = netcfg_link_up(ifname, &err);
    r->rc = net_configure(NULL, 1000, &r->lease, &err);
    snprintf(r->msg, sizeof(r->msg), "%s", err.msg);
}

static uint32_t ip(const char *s)
{
    struct in_addr a;
    assert_int_equal(inet_pton(AF_INET, s, &a), 1);
    return a.s_addr;
}

static void test_lease_from_dnsmasq(void **state)
{
    struct env *e = *state;
    skip_unless_ready(e);
    struct result r;
    in_child(e->cli_ns, client_configure, NULL, &r);
    if (r.rc != 0) {
        char *log = dnsmasq_log(e);
        fail_msg("net_configure failed (%d): %s\ndnsmasq log:\n%s", r.rc, r.msg, log);
    }
    if (getenv("EVM_DHCP_SHOW_LOG"))
        free(dnsmasq_log(e));
    /* Interface discovery and MAC. */
    assert_int_equal(r.first_rc, 0);
    assert_string_equal(r.first_if, e->cli_if);
    assert_int_equal(r.mac_rc, 0);
    static const uint8_t mac[6] = {0x02, 0x00, 0x00, 0xd7, 0x00, 0x02};
    assert_memory_equal(r.mac, mac, 6);
    /* The lease. */
    uint32_t a = ntohl(r.lease.addr);
    assert_in_range(a, ntohl(ip(SUBNET ".50")), ntohl(ip(SUBNET ".150")));
    assert_int_equal(r.lease.prefix, 24);
    assert_int_equal(r.lease.router, ip(SUBNET ".1"));
    assert_int_equal(r.lease.server_id, ip(SUBNET ".1"));
    assert_int_equal(r.lease.ndns, 2);
    assert_int_equal(r.lease.dns[0], ip(SUBNET ".2"));
    assert_int_equal(r.lease.dns[1], ip(SUBNET ".3"));
    assert_int_equal(r.lease.lease_secs, 3600);
    /* The interface really is configured: read it back with ip(8). */
    char addr[INET_ADDRSTRLEN], want[128];
    inet_ntop(AF_INET, &r.lease.addr, addr, sizeof(addr));
    char *out = sh_out("ip -n %s -4 -o addr show dev %s", e->cli_ns, e->cli_if);
    snprintf(want, sizeof(want), "inet %s/24 brd " SUBNET ".255", addr);
    if (!strstr(out, want))
        fail_msg("address %s not on %s: %s", want, e->cli_if, out);
    free(out);
    out = sh_out("ip -n %s -4 route show default", e->cli_ns);
    snprintf(want, sizeof(want), "default via " SUBNET ".1 dev %s proto dhcp", e->cli_if);
    if (!strstr(out, want))
        fail_msg("default route missing: want \"%s\", have \"%s\"", want, out);
    free(out);
    out = sh_out("ip -n %s -o link show lo", e->cli_ns);
    if (!strstr(out, ",UP"))
        fail_msg("lo is not up: %s", out);
    free(out);
    /* And it works: the server answers a ping from the client's namespace (iputils-ping is
     * installed by scripts/setup.sh, so this always runs). */
    assert_int_equal(sh("ip netns exec %s ping -c 1 -W 5 " SUBNET ".1 >/dev/null", e->cli_ns), 0);
}

/* ---- a scripted DHCP server, to test the client's matching ---------------------------
 * Answers each DISCOVER with three OFFERs: a wrong xid (.201), a wrong chaddr (.202), and
 * the right one (.203); each REQUEST with an ACK for a wrong xid (.204), then an ACK that
 * grants .203 when .203 was requested and .205 otherwise. A client that matches xid and
 * chaddr ends up with .203. Runs in the server namespace, killed by teardown. */

static uint16_t be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static void fake_send(int fd, int ifindex, uint8_t type, uint32_t xid, const uint8_t *chaddr,
                      const char *yiaddr)
{
    uint8_t pkt[28 + 300];
    memset(pkt, 0, sizeof(pkt));
    uint8_t *ip4 = pkt, *udp = pkt + 20, *d = pkt + 28;
    d[0] = 2, d[1] = 1, d[2] = 6;
    memcpy(d + 4, &xid, 4);
    struct in_addr a;
    inet_pton(AF_INET, yiaddr, &a);
    memcpy(d + 16, &a, 4);
    memcpy(d + 28, chaddr, 16);
    static const uint8_t opts[] = {99,  130, 83, 99, 53, 1,  0,   54, 4, 10, 213, 7, 1, 1, 4,  255,
                                   255, 255, 0,  3,  4,  10, 213, 7,  1, 51, 4,   0, 0, 2, 88, 255};
    memcpy(d + 236, opts, sizeof(opts));
    d[236 + 6] = type;
    ip4[0] = 0x45;
    ip4[2] = sizeof(pkt) >> 8, ip4[3] = sizeof(pkt) & 0xff;
    ip4[8] = 64, ip4[9] = 17;
    ip4[12] = 10, ip4[13] = 213, ip4[14] = 7, ip4[15] = 1;
    memset(ip4 + 16, 0xff, 4);
    uint32_t sum = 0;
    for (int i = 0; i < 20; i += 2)
        sum += be16(ip4 + i);
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    sum = ~sum & 0xffff;
    ip4[10] = (uint8_t)(sum >> 8), ip4[11] = (uint8_t)sum;
    udp[1] = 67, udp[3] = 68;
    udp[4] = (sizeof(pkt) - 20) >> 8, udp[5] = (sizeof(pkt) - 20) & 0xff; /* checksum 0 */
    struct sockaddr_ll to = {.sll_family = AF_PACKET,
                             .sll_protocol = htons(ETHERTYPE_IP),
                             .sll_ifindex = ifindex,
                             .sll_halen = 6};
    memset(to.sll_addr, 0xff, 6);
    if (sendto(fd, pkt, sizeof(pkt), 0, (struct sockaddr *)&to, sizeof(to)) < 0)
        _exit(3);
}

/* The requested address (option 50) in one of our client's REQUESTs, or 0. */
static uint32_t requested_addr(const uint8_t *d, size_t len)
{
    for (size_t i = 240; i + 1 < len && d[i] != 255;) {
        if (d[i] == 0) {
            i++;
            continue;
        }
        if (d[i] == 50 && d[i + 1] == 4 && i + 6 <= len) {
            uint32_t a;
            memcpy(&a, d + i + 2, 4);
            return a;
        }
        i += 2u + d[i + 1];
    }
    return 0;
}

static void fake_server(const char *ns, const char *ifname)
{
    char path[128];
    snprintf(path, sizeof(path), "/run/netns/%s", ns);
    int nsfd = open(path, O_RDONLY | O_CLOEXEC);
    if (nsfd < 0 || setns(nsfd, CLONE_NEWNET) != 0)
        _exit(2);
    int ifindex = (int)if_nametoindex(ifname);
    int fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, htons(ETHERTYPE_IP));
    struct sockaddr_ll sll = {
        .sll_family = AF_PACKET, .sll_protocol = htons(ETHERTYPE_IP), .sll_ifindex = ifindex};
    if (ifindex == 0 || fd < 0 || bind(fd, (struct sockaddr *)&sll, sizeof(sll)) != 0)
        _exit(2);
    uint8_t buf[2048];
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    while (poll(&pfd, 1, CHILD_LIMIT_MS) > 0) {
        ssize_t n = recv(fd, buf, sizeof(buf), 0);
        if (n < 28 + 240 || buf[9] != 17 || be16(buf + 22) != 67)
            continue;
        const uint8_t *d = buf + 28;
        size_t dlen = (size_t)n - 28;
        struct dhcp_reply m;
        struct evm_err err;
        if (dhcp_parse_reply(d, dlen, &m, &err) != 0 || m.op != 1)
            continue;
        uint8_t other[16];
        memcpy(other, m.chaddr, 16);
        other[5] ^= 1;
        if (m.msg_type == DHCP_DISCOVER) {
            fake_send(fd, ifindex, DHCP_OFFER, m.xid ^ 1, m.chaddr, SUBNET ".201");
            fake_send(fd, ifindex, DHCP_OFFER, m.xid, other, SUBNET ".202");
            fake_send(fd, ifindex, DHCP_OFFER, m.xid, m.chaddr, SUBNET ".203");
        } else if (m.msg_type == DHCP_REQUEST) {
            fake_send(fd, ifindex, DHCP_ACK, m.xid ^ 1, m.chaddr, SUBNET ".204");
            fake_send(fd, ifindex, DHCP_ACK, m.xid, other, SUBNET ".204");
            bool right = requested_addr(d, dlen) == ip(SUBNET ".203");
            fake_send(fd, ifindex, DHCP_ACK, m.xid, m.chaddr,
                      right ? SUBNET ".203" : SUBNET ".205");
        }
    }
    _exit(0);
}

static int setup_fake_server(void **state)
{
    int r = env_setup(state, false);
    struct env *e = *state;
    if (r != 0 || !e->srv_ns_made)
        return r;
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        setpgid(0, 0);
        fake_server(e->srv_ns, e->srv_if);
    }
    setpgid(pid, pid);
    e->dnsmasq = pid;
    return 0;
}

static void test_client_matches_xid_and_chaddr(void **state)
{
    struct env *e = *state;
    skip_unless_ready(e);
    struct result r;
    in_child(e->cli_ns, client_configure, NULL, &r);
    if (r.rc != 0)
        fail_msg("net_configure failed (%d): %s", r.rc, r.msg);
    char addr[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &r.lease.addr, addr, sizeof(addr));
    assert_string_equal(addr, SUBNET ".203");
    assert_int_equal(r.lease.lease_secs, 600);
    assert_int_equal(r.lease.prefix, 24);
}

static void test_no_server_times_out(void **state)
{
    struct env *e = *state;
    skip_unless_ready(e);
    struct result r;
    in_child(e->cli_ns, client_no_server, e->cli_if, &r);
    assert_int_equal(r.rc, -ETIMEDOUT);
    char want[64];
    snprintf(want, sizeof(want), "no DHCP offer on %s after ", e->cli_if);
    if (!strstr(r.msg, want) || !strstr(r.msg, "DISCOVER"))
        fail_msg("unclear timeout message: %s", r.msg);
    /* Nothing was configured. */
    char *out = sh_out("ip -n %s -4 -o addr show dev %s", e->cli_ns, e->cli_if);
    assert_null(strstr(out, "inet "));
    free(out);
    out = sh_out("ip -n %s -4 route show default", e->cli_ns);
    assert_null(strstr(out, "default"));
    free(out);
}

/* netcfg_wait_ethernet in an empty namespace: a link made 200 ms later (a veth pair:
 * ARPHRD_ETHER devices) wakes the wait through rtnetlink long before its 2 s tick; with none,
 * it gives up when asked to (-ENODEV). */
struct waiter {
    int calls, stop_after;
};

static bool wait_give_up(void *ctx)
{
    struct waiter *w = ctx;
    return ++w->calls > w->stop_after;
}

static void *add_dummy_later(void *arg)
{
    (void)arg;
    poll(NULL, 0, 200);
    if (system("ip link add evmwait0 type veth peer name evmwait1") != 0)
        fprintf(stderr, "ip link add failed\n");
    return NULL;
}

static void client_wait(const char *ifname, struct result *r)
{
    (void)ifname;
    struct evm_err err = {0};
    struct waiter w = {.stop_after = 2};
    r->first_rc =
        netcfg_wait_ethernet(r->first_if, sizeof(r->first_if), 10, wait_give_up, &w, &err);
    pthread_t th;
    if (pthread_create(&th, NULL, add_dummy_later, NULL) != 0) {
        r->rc = -EAGAIN;
        return;
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    w = (struct waiter){.stop_after = 5};
    r->rc = netcfg_wait_ethernet(r->first_if, sizeof(r->first_if), 2000, wait_give_up, &w, &err);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    pthread_join(th, NULL);
    r->mac_rc = (int)((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000);
    snprintf(r->msg, sizeof(r->msg), "%s", err.msg);
}

static void test_wait_ethernet(void **state)
{
    struct env *e = *state;
    skip_unless_ready(e);
    if (system("command -v ip >/dev/null") != 0) {
        skip();
        return;
    }
    struct result r;
    in_child(NULL, client_wait, NULL, &r);
    assert_int_equal(r.first_rc, -ENODEV);
    if (r.rc != 0)
        fail_msg("wait: %d %s", r.rc, r.msg);
    assert_memory_equal(r.first_if, "evmwait", 7); /* either end of the pair */
    if (r.mac_rc >= 1500)
        fail_msg("woken after %d ms: by the tick, not the link notification", r.mac_rc);
}

/* netcfg_links_down, the power-off's first act: in a namespace of its own with lo and a veth
 * pair all up, both veth ends go down and lo stays up. */
static bool link_is_up(const char *ifname)
{
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    bool up = fd >= 0 && ioctl(fd, SIOCGIFFLAGS, &ifr) == 0 && (ifr.ifr_flags & IFF_UP);
    if (fd >= 0)
        close(fd);
    return up;
}

static void client_links_down(const char *ifname, struct result *r)
{
    (void)ifname;
    struct evm_err err = {0};
    if (system("ip link set lo up && ip link add evmdown0 type veth peer name evmdown1 && "
               "ip link set evmdown0 up && ip link set evmdown1 up") != 0) {
        r->rc = -ECHILD;
        snprintf(r->msg, sizeof(r->msg), "ip could not make the links");
        return;
    }
    /* mac_rc: which were up before (bits 0-2: lo, evmdown0, evmdown1), then after (3-5). */
    const char *names[] = {"lo", "evmdown0", "evmdown1"};
    for (int i = 0; i < 3; i++)
        r->mac_rc |= link_is_up(names[i]) ? 1 << i : 0;
    unsigned n = 0;
    r->rc = netcfg_links_down(&n, &err);
    r->first_rc = (int)n;
    for (int i = 0; i < 3; i++)
        r->mac_rc |= link_is_up(names[i]) ? 1 << (i + 3) : 0;
    snprintf(r->msg, sizeof(r->msg), "%s", err.msg);
}

static void test_links_down(void **state)
{
    struct env *e = *state;
    skip_unless_ready(e);
    struct result r;
    in_child(NULL, client_links_down, NULL, &r);
    if (r.rc != 0)
        fail_msg("links down: %d %s", r.rc, r.msg);
    assert_int_equal(r.mac_rc & 7, 7);  /* all three up before */
    assert_int_equal(r.mac_rc >> 3, 1); /* only lo up after */
    assert_int_equal(r.first_rc, 2);    /* the two veth ends */
}

static void test_no_ethernet(void **state)
{
    struct env *e = *state;
    skip_unless_ready(e);
    struct result r;
    in_child(NULL, client_empty_ns, "nosuch0", &r);
    assert_int_equal(r.first_rc, -ENODEV);
    assert_int_equal(r.mac_rc, -ENODEV);
    assert_int_equal(r.rc, -ENODEV);
    if (!strstr(r.msg, "no ethernet interface"))
        fail_msg("message: %s", r.msg);
}

int main(void)
{
    log_init("test_dhcp_netns", LOG_DEBUG);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_lease_from_dnsmasq, setup_server, teardown),
        cmocka_unit_test_setup_teardown(test_client_matches_xid_and_chaddr, setup_fake_server,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_no_server_times_out, setup_no_server, teardown),
        cmocka_unit_test_setup_teardown(test_no_ethernet, setup_no_server, teardown),
        cmocka_unit_test_setup_teardown(test_wait_ethernet, setup_no_server, teardown),
        cmocka_unit_test_setup_teardown(test_links_down, setup_no_server, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
