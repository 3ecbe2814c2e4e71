/* test_dhcp.c — the DHCP reply parser (guest/dhcp.c) on replies built here: valid OFFER
 * and ACK, zero-length, truncated and over-long options, option 52 overload into file and
 * sname, missing END or cookie, short packets, pad bytes, DNS lists, subnet masks; and the
 * client messages we build parse back. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <cmocka.h>

#include "dhcp.h"

#define XID 0x11223344u

static const uint8_t mac[6] = {0x02, 0x00, 0x5e, 0x10, 0x20, 0x30};

struct pkt {
    uint8_t b[1500];
    size_t len;
};

static uint32_t ip(const char *s)
{
    struct in_addr a;
    assert_int_equal(inet_pton(AF_INET, s, &a), 1);
    return a.s_addr;
}

/* A BOOTREPLY header with cookie; options are appended with opt()/raw(). */
static void start(struct pkt *p)
{
    memset(p, 0, sizeof(*p));
    p->b[0] = 2;
    p->b[1] = 1;
    p->b[2] = 6;
    uint32_t x = htonl(XID);
    memcpy(p->b + 4, &x, 4);
    uint32_t y = ip("10.0.0.50");
    memcpy(p->b + 16, &y, 4);
    memcpy(p->b + 28, mac, 6);
    static const uint8_t cookie[4] = {99, 130, 83, 99};
    memcpy(p->b + 236, cookie, 4);
    p->len = 240;
}

static void raw(struct pkt *p, const void *data, size_t len)
{
    assert_true(p->len + len <= sizeof(p->b));
    if (len)
        memcpy(p->b + p->len, data, len);
    p->len += len;
}

static void opt(struct pkt *p, uint8_t code, const void *data, uint8_t len)
{
    uint8_t h[2] = {code, len};
    raw(p, h, 2);
    raw(p, data, len);
}

static void opt_ip(struct pkt *p, uint8_t code, const char *addr)
{
    uint32_t a = ip(addr);
    opt(p, code, &a, 4);
}

static void end(struct pkt *p)
{
    uint8_t e = 255;
    raw(p, &e, 1);
}

/* A complete reply of the given type, as dnsmasq would send it. */
static void full_reply(struct pkt *p, uint8_t type)
{
    start(p);
    opt(p, 53, &type, 1);
    opt_ip(p, 54, "10.0.0.1");
    uint32_t lease = htonl(3600);
    opt(p, 51, &lease, 4);
    opt_ip(p, 1, "255.255.255.0");
    opt_ip(p, 3, "10.0.0.1");
    uint32_t dns[2] = {ip("10.0.0.2"), ip("10.0.0.3")};
    opt(p, 6, dns, 8);
    end(p);
}

static int parse(const struct pkt *p, struct dhcp_reply *r, struct evm_err *err)
{
    memset(err, 0, sizeof(*err));
    return dhcp_parse_reply(p->b, p->len, r, err);
}

static void expect_bad(const struct pkt *p, const char *needle)
{
    struct dhcp_reply r;
    struct evm_err err;
    assert_int_equal(parse(p, &r, &err), -EBADMSG);
    assert_int_equal(err.code, EBADMSG);
    if (!strstr(err.msg, needle))
        fail_msg("error \"%s\" does not mention \"%s\"", err.msg, needle);
}

static void test_valid_offer(void **state)
{
    (void)state;
    struct pkt p;
    full_reply(&p, 2);
    struct dhcp_reply r;
    struct evm_err err;
    assert_int_equal(parse(&p, &r, &err), 0);
    assert_int_equal(r.op, 2);
    assert_int_equal(r.xid, htonl(XID));
    assert_memory_equal(r.chaddr, mac, 6);
    assert_int_equal(r.msg_type, DHCP_OFFER);
    assert_int_equal(r.yiaddr, ip("10.0.0.50"));
    assert_int_equal(r.server_id, ip("10.0.0.1"));
    assert_true(r.has_subnet);
    assert_int_equal(r.subnet_mask, ip("255.255.255.0"));
    assert_int_equal(r.prefix, 24);
    assert_true(r.has_router);
    assert_int_equal(r.router, ip("10.0.0.1"));
    assert_int_equal(r.ndns, 2);
    assert_int_equal(r.dns[0], ip("10.0.0.2"));
    assert_int_equal(r.dns[1], ip("10.0.0.3"));
    assert_int_equal(r.lease_secs, 3600);
}

static void test_valid_ack_minimal(void **state)
{
    (void)state;
    struct pkt p;
    start(&p);
    uint8_t t = 5;
    opt(&p, 53, &t, 1);
    end(&p);
    /* Zero padding after END, as most servers send (BOOTP minimum 300 bytes). */
    p.len = 300;
    struct dhcp_reply r;
    struct evm_err err;
    assert_int_equal(parse(&p, &r, &err), 0);
    assert_int_equal(r.msg_type, DHCP_ACK);
    assert_false(r.has_subnet);
    assert_false(r.has_router);
    assert_int_equal(r.ndns, 0);
    assert_int_equal(r.server_id, 0);
}

static void test_pad_bytes(void **state)
{
    (void)state;
    struct pkt p;
    start(&p);
    uint8_t pads[5] = {0};
    raw(&p, pads, 5);
    uint8_t t = 2;
    opt(&p, 53, &t, 1);
    raw(&p, pads, 3);
    opt_ip(&p, 3, "10.0.0.9");
    raw(&p, pads, 1);
    end(&p);
    struct dhcp_reply r;
    struct evm_err err;
    assert_int_equal(parse(&p, &r, &err), 0);
    assert_int_equal(r.msg_type, DHCP_OFFER);
    assert_int_equal(r.router, ip("10.0.0.9"));
}

static void test_zero_length_options(void **state)
{
    (void)state;
    struct pkt p;
    /* An unknown option with length 0 is skipped. */
    start(&p);
    opt(&p, 224, NULL, 0);
    uint8_t t = 2;
    opt(&p, 53, &t, 1);
    end(&p);
    struct dhcp_reply r;
    struct evm_err err;
    assert_int_equal(parse(&p, &r, &err), 0);
    assert_int_equal(r.msg_type, DHCP_OFFER);
    /* A known option with length 0 is malformed. */
    static const uint8_t known[] = {1, 3, 6, 51, 53, 54};
    for (size_t i = 0; i < sizeof(known); i++) {
        start(&p);
        opt(&p, known[i], NULL, 0);
        end(&p);
        char needle[32];
        snprintf(needle, sizeof(needle), "option %u (", known[i]);
        expect_bad(&p, needle);
        expect_bad(&p, "at offset 240: length 0");
    }
}

static void test_short_option(void **state)
{
    (void)state;
    struct pkt p;
    /* Wrong fixed lengths. */
    start(&p);
    uint8_t three[3] = {255, 255, 255};
    opt(&p, 1, three, 3);
    end(&p);
    expect_bad(&p, "option 1 (subnet mask) at offset 240: length 3, expected 4");
    start(&p);
    opt(&p, 6, three, 3);
    end(&p);
    expect_bad(&p, "option 6 (DNS servers) at offset 240: length 3");
    start(&p);
    uint8_t t2[2] = {2, 2};
    opt(&p, 53, t2, 2);
    end(&p);
    expect_bad(&p, "option 53 (message type) at offset 240");
    /* The packet ends after an option code, before its length byte. */
    start(&p);
    uint8_t t = 2;
    opt(&p, 53, &t, 1);
    uint8_t code = 54;
    raw(&p, &code, 1);
    expect_bad(&p, "option 54 at offset 243: truncated");
}

static void test_overlong_option(void **state)
{
    (void)state;
    struct pkt p;
    start(&p);
    uint8_t t = 2;
    opt(&p, 53, &t, 1);
    uint8_t h[2] = {6, 200}; /* claims 200 bytes, 8 follow */
    raw(&p, h, 2);
    uint32_t dns[2] = {ip("1.1.1.1"), ip("8.8.8.8")};
    raw(&p, dns, 8);
    end(&p);
    expect_bad(&p, "option 6 at offset 243: length 200 runs past the end of the options");
}

static void test_overload_file_and_sname(void **state)
{
    (void)state;
    struct pkt p;
    start(&p);
    uint8_t t = 5;
    opt(&p, 53, &t, 1);
    uint8_t ov = 3;
    opt(&p, 52, &ov, 1);
    end(&p);
    /* file (offset 108): router and a DNS server, then END. */
    uint8_t *f = p.b + 108;
    uint32_t a = ip("192.168.7.1");
    f[0] = 3, f[1] = 4, memcpy(f + 2, &a, 4);
    a = ip("192.168.7.53");
    f[6] = 6, f[7] = 4, memcpy(f + 8, &a, 4);
    f[12] = 255;
    /* sname (offset 44): mask and a second DNS server, running up to the field's end. */
    uint8_t *s = p.b + 44;
    a = ip("255.255.0.0");
    s[0] = 1, s[1] = 4, memcpy(s + 2, &a, 4);
    a = ip("192.168.7.54");
    s[6] = 6, s[7] = 4, memcpy(s + 8, &a, 4);
    struct dhcp_reply r;
    struct evm_err err;
    assert_int_equal(parse(&p, &r, &err), 0);
    assert_int_equal(r.overload, 3);
    assert_int_equal(r.msg_type, DHCP_ACK);
    assert_int_equal(r.router, ip("192.168.7.1"));
    assert_int_equal(r.prefix, 16);
    assert_int_equal(r.ndns, 2);
    assert_int_equal(r.dns[0], ip("192.168.7.53")); /* file before sname */
    assert_int_equal(r.dns[1], ip("192.168.7.54"));

    /* Overload 1 only: sname is not read (it holds a server name). */
    p.b[240 + 3 + 2] = 1;
    assert_int_equal(parse(&p, &r, &err), 0);
    assert_false(r.has_subnet);
    assert_int_equal(r.ndns, 1);
    /* Overload 2 only: file is not read. */
    p.b[240 + 3 + 2] = 2;
    assert_int_equal(parse(&p, &r, &err), 0);
    assert_false(r.has_router);
    assert_int_equal(r.prefix, 16);

    /* An option running past the end of the file field is rejected, naming the field. */
    p.b[240 + 3 + 2] = 1;
    f[12] = 6;
    f[13] = 120; /* 120 > 128 - 14 */
    expect_bad(&p, "option 6 at offset 120: length 120 runs past the end of the file field");
    /* Without overload the same bytes in file are ignored. */
    p.b[240 + 3] = 0; /* turn option 52 into pads */
    p.b[240 + 4] = 0;
    p.b[240 + 5] = 0;
    assert_int_equal(parse(&p, &r, &err), 0);
    assert_false(r.has_router);
    /* Invalid overload value. */
    p.b[240 + 3] = 52;
    p.b[240 + 4] = 1;
    p.b[240 + 5] = 4;
    expect_bad(&p, "option 52 (overload) at offset 243: invalid value 4");
}

static void test_missing_end(void **state)
{
    (void)state;
    struct pkt p;
    start(&p);
    uint8_t t = 2;
    opt(&p, 53, &t, 1);
    opt_ip(&p, 54, "10.0.0.1");
    expect_bad(&p, "no END option");
    /* Only pads after the options, no END. */
    uint8_t pads[4] = {0};
    raw(&p, pads, 4);
    expect_bad(&p, "no END option");
}

static void test_missing_cookie(void **state)
{
    (void)state;
    struct pkt p;
    full_reply(&p, 2);
    p.b[239] = 0;
    expect_bad(&p, "no DHCP magic cookie at offset 236");
}

static void test_too_short(void **state)
{
    (void)state;
    struct pkt p;
    full_reply(&p, 2);
    static const size_t lens[] = {0, 1, 200, 236, 239};
    for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
        struct pkt q = p;
        q.len = lens[i];
        expect_bad(&q, "too short");
    }
    /* Cookie and nothing else: no END. */
    p.len = 240;
    expect_bad(&p, "no END option");
    struct dhcp_reply r;
    struct evm_err err;
    assert_int_equal(dhcp_parse_reply(NULL, 0, &r, &err), -EBADMSG);
}

static void test_many_dns_keeps_three(void **state)
{
    (void)state;
    struct pkt p;
    start(&p);
    uint32_t dns[5] = {ip("9.9.9.1"), ip("9.9.9.2"), ip("9.9.9.3"), ip("9.9.9.4"), ip("9.9.9.5")};
    opt(&p, 6, dns, sizeof(dns));
    end(&p);
    struct dhcp_reply r;
    struct evm_err err;
    assert_int_equal(parse(&p, &r, &err), 0);
    assert_int_equal(r.ndns, 3);
    assert_int_equal(r.dns[0], dns[0]);
    assert_int_equal(r.dns[2], dns[2]);
    /* Split over two instances (RFC 3396 concatenation). */
    start(&p);
    opt(&p, 6, dns, 4);
    opt(&p, 6, dns + 1, 12);
    end(&p);
    assert_int_equal(parse(&p, &r, &err), 0);
    assert_int_equal(r.ndns, 3);
    assert_int_equal(r.dns[1], dns[1]);
    assert_int_equal(r.dns[2], dns[2]);
}

static void test_subnet_mask_prefix(void **state)
{
    (void)state;
    static const struct {
        const char *mask;
        int prefix; /* -1: rejected */
    } cases[] = {{"255.255.255.0", 24}, {"255.255.255.255", 32}, {"0.0.0.0", 0},
                 {"255.0.0.0", 8},      {"255.255.252.0", 22},   {"255.255.255.254", 31},
                 {"128.0.0.0", 1},      {"255.0.255.0", -1},     {"0.255.255.255", -1},
                 {"255.255.255.1", -1}, {"254.255.255.0", -1}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct pkt p;
        start(&p);
        opt_ip(&p, 1, cases[i].mask);
        end(&p);
        struct dhcp_reply r;
        struct evm_err err;
        int rc = parse(&p, &r, &err);
        if (cases[i].prefix < 0) {
            assert_int_equal(rc, -EBADMSG);
            if (!strstr(err.msg, "non-contiguous mask") || !strstr(err.msg, cases[i].mask))
                fail_msg("mask %s: message \"%s\"", cases[i].mask, err.msg);
        } else {
            if (rc != 0)
                fail_msg("mask %s rejected: %s", cases[i].mask, err.msg);
            assert_int_equal(r.prefix, (unsigned)cases[i].prefix);
        }
    }
}

static void test_built_messages_parse(void **state)
{
    (void)state;
    uint8_t buf[DHCP_MAX_MSG];
    uint32_t xid = htonl(0xdeadbeef);
    size_t n = dhcp_build_message(buf, DHCP_REQUEST, xid, mac, 3, ip("10.0.0.50"), ip("10.0.0.1"));
    assert_true(n >= 300 && n <= DHCP_MAX_MSG);
    assert_int_equal(buf[0], 1);
    assert_int_equal(buf[10], 0x80); /* BROADCAST flag */
    assert_int_equal(buf[9], 3);     /* secs */
    struct dhcp_reply r;
    struct evm_err err = {0};
    assert_int_equal(dhcp_parse_reply(buf, n, &r, &err), 0);
    assert_int_equal(r.op, 1);
    assert_int_equal(r.xid, xid);
    assert_memory_equal(r.chaddr, mac, 6);
    assert_int_equal(r.msg_type, DHCP_REQUEST);
    assert_int_equal(r.server_id, ip("10.0.0.1"));
    n = dhcp_build_message(buf, DHCP_DISCOVER, xid, mac, 0, 0, 0);
    assert_int_equal(dhcp_parse_reply(buf, n, &r, &err), 0);
    assert_int_equal(r.msg_type, DHCP_DISCOVER);
    assert_int_equal(r.server_id, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_offer),
        cmocka_unit_test(test_valid_ack_minimal),
        cmocka_unit_test(test_pad_bytes),
        cmocka_unit_test(test_zero_length_options),
        cmocka_unit_test(test_short_option),
        cmocka_unit_test(test_overlong_option),
        cmocka_unit_test(test_overload_file_and_sname),
        cmocka_unit_test(test_missing_end),
        cmocka_unit_test(test_missing_cookie),
        cmocka_unit_test(test_too_short),
        cmocka_unit_test(test_many_dns_keeps_three),
        cmocka_unit_test(test_subnet_mask_prefix),
        cmocka_unit_test(test_built_messages_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
