/* bootid.h — the boot id (design §3): BOOT_ID_HEX_LEN lowercase hex digits from 16 random
 * bytes, fresh for every boot, carried on the kernel command line, in the tail's manifest
 * and on every console marker and stop request. */
#ifndef EVM_BOOTID_H
#define EVM_BOOTID_H

#include "err.h"
#include "tail.h"

/* A fresh boot id from the OS's random source. */
int boot_id_generate(char out[BOOT_ID_HEX_LEN + 1], struct evm_err *err);

/* True when s is exactly BOOT_ID_HEX_LEN lowercase hex digits. */
int boot_id_valid(const char *s);

#endif
