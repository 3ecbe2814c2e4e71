/* resolv.h — design §4 step 9: the root disk's /etc/resolv.conf from DHCP. */
#ifndef EVM_GUEST_RESOLV_H
#define EVM_GUEST_RESOLV_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* The resolver uses at most this many nameserver lines (glibc's and musl's MAXNS). */
#define RESOLV_MAX_NS 3

/* Writes <newroot>/etc/resolv.conf: a comment line, then "nameserver a.b.c.d" for each
 * non-zero DNS server (network byte order; duplicates dropped, at most RESOLV_MAX_NS);
 * with no DNS server, the router. With neither it leaves the file alone, warns and returns
 * 0. The file is replaced atomically (temporary file, mode 0644, owner 0:0, rename; made
 * durable by the init's syncfs before switch_root); a symlink named resolv.conf (->
 * ../run/systemd/resolve/stub-resolv.conf in many images) is replaced by the regular file, never
 * written through. etc is made (0755) when missing and refused when it is a symlink. */
int resolv_write(const char *newroot, const uint32_t *dns_be, unsigned ndns, uint32_t router_be,
                 struct evm_err *err);

/* Formats the file's text into buf (NUL-terminated); returns the number of nameserver
 * lines (0: nothing to write), or -ENOSPC when cap is too small. */
int resolv_format(const uint32_t *dns_be, unsigned ndns, uint32_t router_be, char *buf, size_t cap);

#endif
