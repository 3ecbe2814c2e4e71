/* fakeguest.h — the guest the fake computecore simulates when EVM_FAKE_HCS_HELPER is unset:
 * an in-process stand-in for the Linux-side helper, speaking the same JSON-lines protocol
 * (HCS-PLAN.md §C) on a loopback port, so the fake's VM code has one path and unit-level
 * tests run without QEMU. No kernel runs: the "guest" prints the console markers of a ready
 * guest with the boot id of the command line, listens on the containerd and dispatch ports
 * at 127.0.0.1 (the address it reports), and powers off on the console stop request for its
 * boot id or on a shutdown request. TEST ONLY. */
#ifndef EVM_FAKEGUEST_H
#define EVM_FAKEGUEST_H

#include "fakeproto.h"

/* Starts the simulated guest's thread, listening on 127.0.0.1 at an ephemeral port, and
 * writes "127.0.0.1:<port>" to hostport. It serves one VM and then ends. */
int fakeguest_spawn(const struct fake_config *c, char hostport[32], struct evm_err *err);

#endif
