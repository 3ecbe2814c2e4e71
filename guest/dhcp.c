/* dhcp.c — the guest's DHCPv4 client: the reply parser (everything in a reply is
 * untrusted: every length is checked before it is used), client message building, and
 * the DISCOVER/OFFER/REQUEST/ACK exchange; net_configure ties it to netcfg.c.
 *
 * Transport: an AF_PACKET SOCK_DGRAM socket bound to the interface, with the IPv4 and UDP
 * headers built here (the kernel adds the Ethernet header). This is what udhcpc, dhcpcd and
 * systemd-networkd do, and unlike a UDP socket bound to 0.0.0.0:68 it needs no address,
 * no route, and does not depend on rp_filter or netfilter letting a broadcast from a
 * not-yet-routable server through. Received UDP checksums are not verified: on virtual
 * NICs (virtio, netvsc, veth) with checksum offload a packet socket sees frames whose UDP
 * checksum is not filled in yet; the IP header checksum is verified and the payload is
 * parsed defensively and matched on xid and chaddr. */
#include "dhcp.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netpacket/packet.h>

#include "clock.h"
#include "log.h"
#include "netcfg.h"
#include "random.h"

#define BOOTREQUEST 1
#define BOOTREPLY 2
#define DHCP_SERVER_PORT 67
#define DHCP_CLIENT_PORT 68
#define DHCP_MIN_MSG 300 /* BOOTP minimum; some servers and relays drop shorter */

#define OFF_SNAME 44
#define OFF_FILE 108
#define OFF_COOKIE 236

#define OPT_PAD 0
#define OPT_SUBNET 1
#define OPT_ROUTER 3
#define OPT_DNS 6
#define OPT_REQ_ADDR 50
#define OPT_LEASE 51
#define OPT_OVERLOAD 52
#define OPT_MSG_TYPE 53
#define OPT_SERVER_ID 54
#define OPT_PARAMS 55
#define OPT_MAX_SIZE 57
#define OPT_CLIENT_ID 61
#define OPT_END 255

#define DEFAULT_TIMEOUT_MS 30000u
#define FIRST_BACKOFF_MS 1000u
#define MAX_BACKOFF_MS 4000u
#define REQUEST_TRIES 3u

static const uint8_t magic_cookie[4] = {99, 130, 83, 99};

static uint32_t get32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static uint16_t get16be(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static void put16be(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

int dhcp_mask_to_prefix(uint32_t mask_be, unsigned *prefix)
{
    uint32_t m = ntohl(mask_be);
    uint32_t inv = ~m;
    if (inv & (inv + 1))
        return -EINVAL;
    unsigned n = 0;
    while (m & 0x80000000u) {
        n++;
        m <<= 1;
    }
    *prefix = n;
    return 0;
}

static int bad_len(struct evm_err *err, const char *name, unsigned code, size_t off, size_t len,
                   const char *want)
{
    return evm_errf(err, EBADMSG, "option %u (%s) at offset %zu: length %zu, expected %s", code,
                    name, off, len, want);
}

static int handle_option(uint8_t code, const uint8_t *v, size_t len, size_t off, bool main_area,
                         struct dhcp_reply *out, struct evm_err *err)
{
    switch (code) {
    case OPT_MSG_TYPE:
        if (len != 1)
            return bad_len(err, "message type", code, off, len, "1");
        if (v[0] < DHCP_DISCOVER || v[0] > DHCP_INFORM)
            return evm_errf(err, EBADMSG, "option 53 (message type) at offset %zu: unknown type %u",
                            off, v[0]);
        out->msg_type = v[0];
        return 0;
    case OPT_SUBNET: {
        if (len != 4)
            return bad_len(err, "subnet mask", code, off, len, "4");
        uint32_t mask = get32(v);
        if (dhcp_mask_to_prefix(mask, &out->prefix) != 0) {
            char s[INET_ADDRSTRLEN];
            inet_ntop(AF_INET, &mask, s, sizeof(s));
            return evm_errf(err, EBADMSG,
                            "option 1 (subnet mask) at offset %zu: non-contiguous mask %s", off, s);
        }
        out->subnet_mask = mask;
        out->has_subnet = true;
        return 0;
    }
    case OPT_ROUTER:
        if (len < 4 || len % 4)
            return bad_len(err, "router", code, off, len, "a multiple of 4");
        out->router = get32(v);
        out->has_router = true;
        return 0;
    case OPT_DNS:
        if (len < 4 || len % 4)
            return bad_len(err, "DNS servers", code, off, len, "a multiple of 4");
        /* Repeated instances concatenate (RFC 3396); keep the first three servers. */
        for (size_t i = 0; i < len && out->ndns < 3; i += 4)
            out->dns[out->ndns++] = get32(v + i);
        return 0;
    case OPT_LEASE:
        if (len != 4)
            return bad_len(err, "lease time", code, off, len, "4");
        out->lease_secs = ntohl(get32(v));
        return 0;
    case OPT_SERVER_ID:
        if (len != 4)
            return bad_len(err, "server identifier", code, off, len, "4");
        out->server_id = get32(v);
        return 0;
    case OPT_OVERLOAD:
        if (!main_area)
            return 0; /* only meaningful in the options field; ignore it elsewhere */
        if (len != 1)
            return bad_len(err, "overload", code, off, len, "1");
        if (v[0] < 1 || v[0] > 3)
            return evm_errf(err, EBADMSG, "option 52 (overload) at offset %zu: invalid value %u",
                            off, v[0]);
        out->overload = v[0];
        return 0;
    default:
        return 0;
    }
}

/* Walks the options in pkt[start, end). The options field must end with END; an
 * overloaded sname/file field may also simply end at its boundary. */
static int parse_options(const uint8_t *pkt, size_t start, size_t end, const char *area,
                         bool main_area, struct dhcp_reply *out, struct evm_err *err)
{
    size_t i = start;
    while (i < end) {
        uint8_t code = pkt[i];
        if (code == OPT_PAD) {
            i++;
            continue;
        }
        if (code == OPT_END)
            return 0;
        if (end - i < 2)
            return evm_errf(err, EBADMSG, "option %u at offset %zu: truncated, no length byte",
                            code, i);
        size_t len = pkt[i + 1];
        if (len > end - i - 2)
            return evm_errf(err, EBADMSG,
                            "option %u at offset %zu: length %zu runs past the end of the %s "
                            "(%zu bytes left)",
                            code, i, len, area, end - i - 2);
        int r = handle_option(code, pkt + i + 2, len, i, main_area, out, err);
        if (r < 0)
            return r;
        i += 2 + len;
    }
    if (main_area)
        return evm_errf(err, EBADMSG,
                        "options: no END option before the end of the packet "
                        "(offset %zu)",
                        end);
    return 0;
}

int dhcp_parse_reply(const uint8_t *pkt, size_t len, struct dhcp_reply *out, struct evm_err *err)
{
    memset(out, 0, sizeof(*out));
    if (!pkt || len < DHCP_OPTIONS_OFFSET)
        return evm_errf(err, EBADMSG, "DHCP packet too short: %zu bytes, need at least %d", len,
                        DHCP_OPTIONS_OFFSET);
    if (memcmp(pkt + OFF_COOKIE, magic_cookie, 4) != 0)
        return evm_errf(err, EBADMSG, "no DHCP magic cookie at offset %d", OFF_COOKIE);
    out->op = pkt[0];
    memcpy(&out->xid, pkt + 4, 4);
    out->yiaddr = get32(pkt + 16);
    out->siaddr = get32(pkt + 20);
    memcpy(out->chaddr, pkt + 28, 16);
    int r = parse_options(pkt, DHCP_OPTIONS_OFFSET, len, "options", true, out, err);
    /* RFC 2131 §4.1: with overload, 'file' is read before 'sname'. */
    if (r == 0 && (out->overload & 1))
        r = parse_options(pkt, OFF_FILE, OFF_COOKIE, "file field", false, out, err);
    if (r == 0 && (out->overload & 2))
        r = parse_options(pkt, OFF_SNAME, OFF_FILE, "sname field", false, out, err);
    if (r < 0) {
        struct dhcp_reply zero = {0};
        *out = zero;
        return r;
    }
    return 0;
}

size_t dhcp_build_message(uint8_t *buf, int msg_type, uint32_t xid, const uint8_t mac[6],
                          uint16_t secs, uint32_t req_addr, uint32_t server_id)
{
    memset(buf, 0, DHCP_MIN_MSG);
    buf[0] = BOOTREQUEST;
    buf[1] = 1; /* ethernet */
    buf[2] = 6;
    memcpy(buf + 4, &xid, 4);
    put16be(buf + 8, secs);
    put16be(buf + 10, 0x8000); /* BROADCAST: we cannot receive unicast before configuring */
    memcpy(buf + 28, mac, 6);
    memcpy(buf + OFF_COOKIE, magic_cookie, 4);
    uint8_t *p = buf + DHCP_OPTIONS_OFFSET;
    *p++ = OPT_MSG_TYPE;
    *p++ = 1;
    *p++ = (uint8_t)msg_type;
    *p++ = OPT_CLIENT_ID;
    *p++ = 7;
    *p++ = 1;
    memcpy(p, mac, 6);
    p += 6;
    *p++ = OPT_MAX_SIZE;
    *p++ = 2;
    put16be(p, DHCP_MAX_MSG + 28);
    p += 2;
    if (msg_type == DHCP_REQUEST) {
        *p++ = OPT_REQ_ADDR;
        *p++ = 4;
        memcpy(p, &req_addr, 4);
        p += 4;
        *p++ = OPT_SERVER_ID;
        *p++ = 4;
        memcpy(p, &server_id, 4);
        p += 4;
    }
    static const uint8_t params[] = {OPT_SUBNET, OPT_ROUTER, OPT_DNS, OPT_LEASE, OPT_SERVER_ID};
    *p++ = OPT_PARAMS;
    *p++ = sizeof(params);
    memcpy(p, params, sizeof(params));
    p += sizeof(params);
    *p++ = OPT_END;
    size_t n = (size_t)(p - buf);
    return n < DHCP_MIN_MSG ? DHCP_MIN_MSG : n;
}

/* ---- transport ---------------------------------------------------------------------- */

static uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t len)
{
    for (size_t i = 0; i + 1 < len; i += 2)
        sum += (uint32_t)(p[i] << 8 | p[i + 1]);
    if (len & 1)
        sum += (uint32_t)p[len - 1] << 8;
    return sum;
}

static uint16_t csum_fold(uint32_t sum)
{
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

struct dhcp_sock {
    int fd;
    int ifindex;
    const char *ifname;
};

static int sock_open(struct dhcp_sock *s, const char *ifname, int ifindex, struct evm_err *err)
{
    s->fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, htons(ETHERTYPE_IP));
    if (s->fd < 0) {
        int e = errno;
        return evm_errf(err, e, "packet socket for %s: %s", ifname, strerror(e));
    }
    struct sockaddr_ll sll = {
        .sll_family = AF_PACKET, .sll_protocol = htons(ETHERTYPE_IP), .sll_ifindex = ifindex};
    if (bind(s->fd, (struct sockaddr *)&sll, sizeof(sll)) != 0) {
        int e = errno;
        close(s->fd);
        s->fd = -1;
        return evm_errf(err, e, "binding packet socket to %s: %s", ifname, strerror(e));
    }
    s->ifindex = ifindex;
    s->ifname = ifname;
    return 0;
}

/* Broadcasts one DHCP message from 0.0.0.0:68 to 255.255.255.255:67. */
static int sock_send(const struct dhcp_sock *s, const uint8_t *msg, size_t len, struct evm_err *err)
{
    uint8_t pkt[20 + 8 + DHCP_MAX_MSG];
    if (len > DHCP_MAX_MSG)
        return evm_errf(err, EMSGSIZE, "DHCP: sending on %s: a message of %zu bytes", s->ifname,
                        len);
    uint8_t *ip = pkt, *udp = pkt + 20;
    memset(pkt, 0, 28);
    ip[0] = 0x45;
    put16be(ip + 2, (uint16_t)(28 + len));
    ip[8] = 64; /* TTL */
    ip[9] = 17; /* UDP */
    memset(ip + 16, 0xff, 4);
    put16be(ip + 10, csum_fold(csum_add(0, ip, 20)));
    put16be(udp, DHCP_CLIENT_PORT);
    put16be(udp + 2, DHCP_SERVER_PORT);
    put16be(udp + 4, (uint16_t)(8 + len));
    memcpy(udp + 8, msg, len);
    uint8_t pseudo[12] = {0};
    memcpy(pseudo, ip + 12, 8);
    pseudo[9] = 17;
    put16be(pseudo + 10, (uint16_t)(8 + len));
    uint16_t c = csum_fold(csum_add(csum_add(0, pseudo, 12), udp, 8 + len));
    put16be(udp + 6, c ? c : 0xffff);
    struct sockaddr_ll to = {.sll_family = AF_PACKET,
                             .sll_protocol = htons(ETHERTYPE_IP),
                             .sll_ifindex = s->ifindex,
                             .sll_halen = 6};
    memset(to.sll_addr, 0xff, 6);
    if (sendto(s->fd, pkt, 28 + len, 0, (struct sockaddr *)&to, sizeof(to)) < 0) {
        int e = errno;
        return evm_errf(err, e, "DHCP: sending on %s: %s", s->ifname, strerror(e));
    }
    return 0;
}

/* The UDP payload of one received IPv4 frame for the client port, or NULL when the frame
 * is anything else (a bad IP header checksum, a fragment, another protocol or port). */
static const uint8_t *udp_payload(const uint8_t *buf, size_t len, size_t *plen)
{
    if (len < 28 || (buf[0] >> 4) != 4)
        return NULL;
    size_t ihl = (size_t)(buf[0] & 15) * 4;
    size_t tot = get16be(buf + 2);
    if (ihl < 20 || tot < ihl + 8 || tot > len || buf[9] != 17 ||
        (get16be(buf + 6) & 0x3fff) != 0 || csum_fold(csum_add(0, buf, ihl)) != 0)
        return NULL;
    const uint8_t *udp = buf + ihl;
    size_t ulen = get16be(udp + 4);
    if (get16be(udp + 2) != DHCP_CLIENT_PORT || ulen < 8 || ulen > tot - ihl)
        return NULL;
    *plen = ulen - 8;
    return udp + 8;
}

/* Waits until deadline for a UDP datagram to port 68 and parses it. Returns 1 with *reply
 * and *src (IP source, network order) filled, 0 on deadline, a negative errno on a socket
 * error. Anything that is not a well-formed DHCP reply is skipped. */
static int sock_recv(const struct dhcp_sock *s, uint64_t deadline, struct dhcp_reply *reply,
                     uint32_t *src, struct evm_err *err)
{
    uint8_t buf[2048];
    for (;;) {
        uint64_t now = clock_monotonic_ms();
        if (now >= deadline)
            return 0;
        uint64_t wait = deadline - now;
        struct pollfd pfd = {.fd = s->fd, .events = POLLIN};
        int pr = poll(&pfd, 1, wait > 60000 ? 60000 : (int)wait);
        if (pr < 0 && errno != EINTR)
            break;
        if (pr <= 0)
            continue;
        struct sockaddr_ll from;
        socklen_t fromlen = sizeof(from);
        ssize_t n =
            recvfrom(s->fd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&from, &fromlen);
        if (n < 0 && errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK)
            break;
        if (n < 0 || from.sll_pkttype == PACKET_OUTGOING || from.sll_ifindex != s->ifindex)
            continue;
        size_t plen;
        const uint8_t *payload = udp_payload(buf, (size_t)n, &plen);
        if (!payload)
            continue;
        struct evm_err perr = {0};
        if (dhcp_parse_reply(payload, plen, reply, &perr) != 0) {
            log_debug("DHCP: ignoring a malformed reply on %s: %s", s->ifname, perr.msg);
            continue;
        }
        *src = get32(buf + 12);
        return 1;
    }
    int e = errno;
    return evm_errf(err, e, "DHCP: receiving on %s: %s", s->ifname, strerror(e));
}

static unsigned backoff_ms(unsigned attempt)
{
    unsigned ms = FIRST_BACKOFF_MS;
    for (unsigned i = 1; i < attempt && ms < MAX_BACKOFF_MS; i++)
        ms *= 2;
    return ms < MAX_BACKOFF_MS ? ms : MAX_BACKOFF_MS;
}

static const char *ip_str(uint32_t a, char buf[INET_ADDRSTRLEN])
{
    inet_ntop(AF_INET, &a, buf, INET_ADDRSTRLEN);
    return buf;
}

static void lease_from_ack(const struct dhcp_reply *ack, uint32_t server_id,
                           struct dhcp_lease *lease)
{
    memset(lease, 0, sizeof(*lease));
    lease->addr = ack->yiaddr;
    lease->server_id = ack->server_id ? ack->server_id : server_id;
    lease->router = ack->has_router ? ack->router : 0;
    if (ack->has_subnet) {
        lease->prefix = ack->prefix;
    } else {
        /* No mask: fall back to the address class (RFC 2131 leaves it to the client). */
        uint8_t first = ((const uint8_t *)&ack->yiaddr)[0];
        lease->prefix = first < 128 ? 8 : first < 192 ? 16 : 24;
        char a[INET_ADDRSTRLEN];
        log_warn("DHCP: no subnet mask for %s; assuming /%u", ip_str(ack->yiaddr, a),
                 lease->prefix);
    }
    lease->ndns = ack->ndns;
    memcpy(lease->dns, ack->dns, sizeof(lease->dns));
    lease->lease_secs = ack->lease_secs;
}

/* ---- the exchange ------------------------------------------------------------------- */

/* What one round (a message sent, replies awaited) ends in, besides a lease (0) or an
 * error (negative). */
enum { ROUND_AGAIN = 1, ROUND_GAVE_UP = 2 };

enum reply_action { REPLY_IGNORED, REPLY_NEXT_ROUND, REPLY_ACK };

struct dhcp_run {
    const struct dhcp_config *cfg;
    const char *ifname;
    uint8_t mac[6];
    struct dhcp_sock s;
    uint64_t start, deadline;
    enum { SELECTING, REQUESTING } state;
    uint32_t xid, offer_addr, server_id; /* network byte order */
    bool new_xid;                        /* the next DISCOVER starts a new exchange */
    unsigned discovers, requests, naks, offers;
    int send_err; /* the last send error, logged once */
    struct dhcp_lease *lease;
};

static int run_open(struct dhcp_run *d, const struct dhcp_config *cfg, struct dhcp_lease *lease,
                    struct evm_err *err)
{
    memset(d, 0, sizeof(*d));
    d->cfg = cfg;
    d->ifname = cfg->ifname;
    d->lease = lease;
    d->s.fd = -1;
    d->state = SELECTING;
    d->new_xid = true;
    int ifindex;
    int r = netcfg_get_mac(d->ifname, d->mac, &ifindex, err);
    if (r < 0)
        return r;
    unsigned total = cfg->total_timeout_ms ? cfg->total_timeout_ms : DEFAULT_TIMEOUT_MS;
    d->start = clock_monotonic_ms();
    d->deadline = d->start + total;
    return sock_open(&d->s, d->ifname, ifindex, err);
}

/* Back to SELECTING with a new xid. */
static void start_over(struct dhcp_run *d)
{
    d->state = SELECTING;
    d->new_xid = true;
}

/* The next DISCOVER into msg, or ROUND_GAVE_UP after max_attempts of them. Retransmissions
 * keep the xid, so a late OFFER to an earlier DISCOVER (a server that ping-checks the
 * address first) still counts. */
static int build_discover(struct dhcp_run *d, uint16_t secs, uint8_t *msg, size_t *len,
                          struct evm_err *err)
{
    if (d->cfg->max_attempts && d->discovers >= d->cfg->max_attempts)
        return ROUND_GAVE_UP;
    if (d->new_xid) {
        int r = random_bytes(&d->xid, sizeof(d->xid), err);
        if (r < 0)
            return r;
        d->new_xid = false;
    }
    d->discovers++;
    d->requests = 0;
    *len = dhcp_build_message(msg, DHCP_DISCOVER, d->xid, d->mac, secs, 0, 0);
    if (d->discovers == 1)
        log_info("DHCP: DISCOVER on %s", d->ifname);
    else
        log_debug("DHCP: DISCOVER on %s (attempt %u)", d->ifname, d->discovers);
    return ROUND_AGAIN;
}

static size_t build_request(struct dhcp_run *d, uint16_t secs, uint8_t *msg)
{
    char a[INET_ADDRSTRLEN], b[INET_ADDRSTRLEN];
    d->requests++;
    log_debug("DHCP: REQUEST %s from %s on %s (attempt %u)", ip_str(d->offer_addr, a),
              ip_str(d->server_id, b), d->ifname, d->requests);
    return dhcp_build_message(msg, DHCP_REQUEST, d->xid, d->mac, secs, d->offer_addr, d->server_id);
}

/* Sends this round's message (a send error is logged once and the round goes on: the
 * retransmission may get through). *tries: how many times this message has been sent. */
static int send_next(struct dhcp_run *d, uint64_t now, unsigned *tries, struct evm_err *err)
{
    char a[INET_ADDRSTRLEN], b[INET_ADDRSTRLEN];
    if (d->state == REQUESTING && d->requests >= REQUEST_TRIES) {
        log_warn("DHCP: no answer from %s to the REQUEST for %s on %s; starting over",
                 ip_str(d->server_id, a), ip_str(d->offer_addr, b), d->ifname);
        start_over(d);
    }
    uint64_t elapsed_s = (now - d->start) / 1000;
    uint16_t secs = elapsed_s > 0xffff ? 0xffff : (uint16_t)elapsed_s;
    uint8_t msg[DHCP_MAX_MSG];
    size_t len;
    if (d->state == SELECTING) {
        int r = build_discover(d, secs, msg, &len, err);
        if (r != ROUND_AGAIN)
            return r;
        *tries = d->discovers;
    } else {
        len = build_request(d, secs, msg);
        *tries = d->requests;
    }
    struct evm_err serr = {0};
    int se = sock_send(&d->s, msg, len, &serr);
    if (se < 0 && se != d->send_err)
        log_debug("%s", serr.msg);
    if (se < 0)
        d->send_err = se;
    return ROUND_AGAIN;
}

static enum reply_action on_offer(struct dhcp_run *d, const struct dhcp_reply *rep, uint32_t src)
{
    if (rep->msg_type != DHCP_OFFER || rep->yiaddr == 0)
        return REPLY_IGNORED;
    uint32_t sid = rep->server_id ? rep->server_id : src;
    if (sid == 0)
        return REPLY_IGNORED;
    d->offers++;
    d->offer_addr = rep->yiaddr;
    d->server_id = sid;
    char a[INET_ADDRSTRLEN], b[INET_ADDRSTRLEN];
    log_info("DHCP: offer of %s from %s on %s", ip_str(d->offer_addr, a), ip_str(d->server_id, b),
             d->ifname);
    d->state = REQUESTING;
    return REPLY_NEXT_ROUND; /* send the REQUEST now */
}

static enum reply_action on_request_reply(struct dhcp_run *d, const struct dhcp_reply *rep)
{
    if (rep->server_id && rep->server_id != d->server_id)
        return REPLY_IGNORED;
    if (rep->msg_type == DHCP_NAK) {
        d->naks++;
        char a[INET_ADDRSTRLEN], b[INET_ADDRSTRLEN];
        log_warn("DHCP: %s declined (NAK) the request for %s on %s; starting over",
                 ip_str(d->server_id, a), ip_str(d->offer_addr, b), d->ifname);
        start_over(d);
        return REPLY_NEXT_ROUND;
    }
    if (rep->msg_type != DHCP_ACK || rep->yiaddr == 0)
        return REPLY_IGNORED;
    lease_from_ack(rep, d->server_id, d->lease);
    return REPLY_ACK;
}

static enum reply_action on_reply(struct dhcp_run *d, const struct dhcp_reply *rep, uint32_t src)
{
    if (rep->op != BOOTREPLY || rep->xid != d->xid || memcmp(rep->chaddr, d->mac, 6) != 0)
        return REPLY_IGNORED;
    if (d->state == SELECTING)
        return on_offer(d, rep, src);
    return on_request_reply(d, rep);
}

/* Takes replies until one moves the exchange on or until passes. */
static int wait_replies(struct dhcp_run *d, uint64_t until, struct evm_err *err)
{
    for (;;) {
        struct dhcp_reply rep;
        uint32_t src = 0;
        int rr = sock_recv(&d->s, until, &rep, &src, err);
        if (rr < 0)
            return rr;
        if (rr == 0)
            return ROUND_AGAIN;
        enum reply_action act = on_reply(d, &rep, src);
        if (act == REPLY_ACK)
            return 0;
        if (act == REPLY_NEXT_ROUND)
            return ROUND_AGAIN;
    }
}

/* One message sent, and its replies awaited for its backoff (within the total time). */
static int run_round(struct dhcp_run *d, uint64_t now, struct evm_err *err)
{
    unsigned tries = 0;
    int r = send_next(d, now, &tries, err);
    if (r != ROUND_AGAIN)
        return r;
    uint64_t until = now + backoff_ms(tries);
    if (until > d->deadline)
        until = d->deadline;
    return wait_replies(d, until, err);
}

static int timeout_error(const struct dhcp_run *d, struct evm_err *err)
{
    unsigned ms = (unsigned)(clock_monotonic_ms() - d->start);
    char extra[128] = "", a[INET_ADDRSTRLEN], b[INET_ADDRSTRLEN];
    if (d->send_err)
        snprintf(extra, sizeof(extra), "; last send error: %s", strerror(-d->send_err));
    if (d->offers == 0)
        return evm_errf(err, ETIMEDOUT, "no DHCP offer on %s after %u DISCOVER%s in %u.%03u s%s",
                        d->ifname, d->discovers, d->discovers == 1 ? "" : "s", ms / 1000, ms % 1000,
                        extra);
    return evm_errf(err, ETIMEDOUT,
                    "no DHCP lease on %s after %u.%03u s: %u offer%s (last %s from %s) but no "
                    "ACK (%u NAK%s)%s",
                    d->ifname, ms / 1000, ms % 1000, d->offers, d->offers == 1 ? "" : "s",
                    ip_str(d->offer_addr, a), ip_str(d->server_id, b), d->naks,
                    d->naks == 1 ? "" : "s", extra);
}

/* Rounds until a lease, an error, max_attempts DISCOVERs or the total time. */
static int run_rounds(struct dhcp_run *d, struct evm_err *err)
{
    for (;;) {
        uint64_t now = clock_monotonic_ms();
        if (now >= d->deadline)
            return timeout_error(d, err);
        int r = run_round(d, now, err);
        if (r == ROUND_GAVE_UP)
            return timeout_error(d, err);
        if (r != ROUND_AGAIN)
            return r;
    }
}

int dhcp_acquire(const struct dhcp_config *cfg, struct dhcp_lease *lease, struct evm_err *err)
{
    struct dhcp_run d;
    int r = run_open(&d, cfg, lease, err);
    if (r == 0)
        r = run_rounds(&d, err);
    if (d.s.fd >= 0)
        close(d.s.fd);
    return r;
}

int net_configure(const char *ifname, unsigned timeout_ms, struct dhcp_lease *lease,
                  struct evm_err *err)
{
    char found[IFNAMSIZ];
    int r = netcfg_link_up("lo", err);
    if (r < 0)
        return r;
    if (!ifname || !ifname[0]) {
        r = netcfg_first_ethernet(found, sizeof(found), err);
        if (r < 0)
            return r;
        ifname = found;
    }
    r = netcfg_link_up(ifname, err);
    if (r < 0)
        return r;
    struct dhcp_config cfg = {.ifname = ifname, .total_timeout_ms = timeout_ms};
    r = dhcp_acquire(&cfg, lease, err);
    if (r < 0)
        return r;
    r = netcfg_add_address(ifname, lease->addr, lease->prefix, err);
    if (r < 0)
        return r;
    char a[INET_ADDRSTRLEN], g[INET_ADDRSTRLEN] = "none", dns[3 * INET_ADDRSTRLEN + 3] = "";
    if (lease->router) {
        r = netcfg_add_default_route(ifname, lease->router, err);
        if (r < 0)
            return r;
        ip_str(lease->router, g);
    } else {
        log_warn("DHCP: no router in the lease for %s; no default route", ifname);
    }
    for (unsigned i = 0; i < lease->ndns; i++) {
        char d[INET_ADDRSTRLEN];
        if (i)
            strcat(dns, ",");
        strcat(dns, ip_str(lease->dns[i], d));
    }
    log_info("network: %s configured: %s/%u router %s dns %s lease %u s", ifname,
             ip_str(lease->addr, a), lease->prefix, g, lease->ndns ? dns : "none",
             (unsigned)lease->lease_secs);
    return 0;
}
