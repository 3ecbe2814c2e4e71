/* netcfg.h — interface configuration over rtnetlink (NETLINK_ROUTE, written directly):
 * bring links up, find the first ethernet interface, read its MAC, add an IPv4 address
 * and a default route. Every request asks for an ACK and checks it. All calls act on the
 * caller's network namespace. */
#ifndef EVM_GUEST_NETCFG_H
#define EVM_GUEST_NETCFG_H

#include <stddef.h>
#include <stdint.h>

#include <stdbool.h>

#include "err.h"

/* Sets IFF_UP on ifname (RTM_NEWLINK). -ENODEV when there is no such interface. */
int netcfg_link_up(const char *ifname, struct evm_err *err);
/* Clears IFF_UP on every interface of the namespace but lo; *n is how many. Before the
 * power-off: the kernel's shutdown resets each virtio device, and a virtio-net queue still
 * being polled then can spin forever instead of powering off. An interface that fails is
 * the error returned (the first one) once every other has been tried. */
int netcfg_links_down(unsigned *n, struct evm_err *err);
/* First non-loopback interface with ARPHRD_ETHER, by ifindex order (RTM_GETLINK dump of
 * the current namespace). -ENODEV when none; -ENAMETOOLONG when len is too small. */
int netcfg_first_ethernet(char *ifname, size_t len, struct evm_err *err);
/* netcfg_first_ethernet, waiting for one to appear: the link notifications of rtnetlink
 * (RTMGRP_LINK) wake it, and so does every `tick_ms` without one, when give_up(ctx) is
 * asked whether to stop (-ENODEV then, as netcfg_first_ethernet). No busy loop: a network
 * driver still loading costs nothing. */
int netcfg_wait_ethernet(char *ifname, size_t len, unsigned tick_ms, bool (*give_up)(void *ctx),
                         void *ctx, struct evm_err *err);
/* MAC address and ifindex of an ethernet interface; ifindex may be NULL.
 * -ENODEV when there is no such interface, -EINVAL when it is not ethernet. */
int netcfg_get_mac(const char *ifname, uint8_t mac[6], int *ifindex, struct evm_err *err);
/* Adds (or replaces) addr/prefix on ifname, with the subnet's broadcast address. */
int netcfg_add_address(const char *ifname, uint32_t addr_be, unsigned prefix, struct evm_err *err);
/* Adds (or replaces) the default route via gw on ifname in the main table. A gateway
 * outside the interface's subnets is added as on-link. */
int netcfg_add_default_route(const char *ifname, uint32_t gw_be, struct evm_err *err);

#endif
