/* dhcp.h — the guest's DHCPv4 client (design §4 step 4): a defensive parser for
 * BOOTP/DHCP replies, the DISCOVER/OFFER/REQUEST/ACK exchange on an AF_PACKET socket,
 * and net_configure, the whole network step. No lease renewal: the VM is ephemeral. */
#ifndef EVM_GUEST_DHCP_H
#define EVM_GUEST_DHCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* Fixed BOOTP header (236 bytes) + magic cookie. */
#define DHCP_FIXED_LEN 236
#define DHCP_OPTIONS_OFFSET 240
/* Largest DHCP message we send or accept (an untagged Ethernet MTU minus IP+UDP). */
#define DHCP_MAX_MSG 1472

enum dhcp_msg_type {
    DHCP_NONE = 0, /* no option 53: plain BOOTP */
    DHCP_DISCOVER = 1,
    DHCP_OFFER = 2,
    DHCP_REQUEST = 3,
    DHCP_DECLINE = 4,
    DHCP_ACK = 5,
    DHCP_NAK = 6,
    DHCP_RELEASE = 7,
    DHCP_INFORM = 8,
};

/* All addresses in network byte order. */
struct dhcp_lease {
    uint32_t addr, router, server_id;
    unsigned prefix;
    uint32_t dns[3];
    unsigned ndns;
    uint32_t lease_secs;
};

struct dhcp_reply {
    uint8_t op;
    uint32_t xid; /* as on the wire, network byte order */
    uint8_t chaddr[16];
    uint32_t yiaddr, siaddr;
    int msg_type; /* enum dhcp_msg_type, DHCP_NONE when absent */
    uint32_t server_id, subnet_mask, router, dns[3];
    unsigned ndns;
    uint32_t lease_secs; /* host byte order; 0 when absent */
    bool has_subnet, has_router;
    unsigned prefix;  /* from subnet_mask when has_subnet, else 0 */
    uint8_t overload; /* option 52 value, 0 when absent */
};

/* Parses a BOOTP/DHCP packet (UDP payload): fixed header, magic cookie, options including
 * option 52 overload into file/sname, pad/end, length checks. The main options area must
 * end with END; an overloaded field may also end at its boundary. Options 6 spread over
 * several instances are concatenated (RFC 3396); more than 3 DNS servers keep the first 3.
 * Rejects truncated or malformed packets with -EBADMSG and a message naming the option
 * and the offset in the packet. */
int dhcp_parse_reply(const uint8_t *pkt, size_t len, struct dhcp_reply *out, struct evm_err *err);

/* Prefix length of a contiguous netmask (network byte order); -EINVAL otherwise. */
int dhcp_mask_to_prefix(uint32_t mask_be, unsigned *prefix);

/* Builds a client message (DHCP_DISCOVER or DHCP_REQUEST) with the BROADCAST flag into buf
 * (at least DHCP_MAX_MSG bytes); returns its length. xid in network byte order. For a
 * REQUEST, req_addr and server_id (network order) go into options 50 and 54. */
size_t dhcp_build_message(uint8_t *buf, int msg_type, uint32_t xid, const uint8_t mac[6],
                          uint16_t secs, uint32_t req_addr, uint32_t server_id);

struct dhcp_config {
    const char *ifname;
    unsigned total_timeout_ms; /* 0: 30 s */
    unsigned max_attempts;     /* DISCOVER rounds; 0: unbounded (the total time bounds it) */
};

/* Runs DISCOVER/OFFER/REQUEST/ACK with the BROADCAST flag on ifname (which must be up),
 * matching xid and chaddr, with retransmissions after 1, 2, 4, 4, ... s, bounded by
 * max_attempts and the total time. Sends and receives on an AF_PACKET socket, so it works
 * without any address or route. Does not configure the interface.
 * -ETIMEDOUT when no lease was obtained in time. */
int dhcp_acquire(const struct dhcp_config *cfg, struct dhcp_lease *lease, struct evm_err *err);

/* The whole step: link up lo and the interface (ifname NULL or "": the first ethernet
 * interface), acquire a lease, configure the address and the default route. */
int net_configure(const char *ifname, unsigned timeout_ms, struct dhcp_lease *lease,
                  struct evm_err *err);

#endif
