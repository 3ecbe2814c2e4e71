/* vm.h — the VM backend interface (design §5): one interface, one implementation per
 * platform (QEMU on Linux: vm_qemu_posix.c; HCS on Windows). Everything is driven by the
 * caller's libuv loop; callbacks run on it. */
#ifndef EVM_VM_H
#define EVM_VM_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include "err.h"

struct vm_spec {
    const char *kernel;      /* kernel image (QEMU: vmlinux ELF or bzImage) */
    const char *initrd;      /* the boot initrd */
    const char *cmdline;     /* kernel command line */
    unsigned cpus;           /* >= 1 */
    unsigned memory_mb;      /* >= 128 */
    const char *disk;        /* root disk image (raw, created sparse by the caller), NULL: none */
    const char *state_dir;   /* per-VM runtime files: sockets, pid file (created if missing) */
    const char *console_log; /* every console byte is appended here (0600) */
    /* Guest TCP ports forwarded to 127.0.0.1:<host_ports[i]>; host port 0: the backend picks a
     * free one and stores it back in vm_info. nforwards <= 4. */
    uint16_t guest_ports[4];
    uint16_t host_ports[4];
    unsigned nforwards;
    bool allow_tcg; /* when hardware virtualisation is unusable, emulate (slow) */
};

struct vm_info {
    uint16_t host_ports[4]; /* the forwards as set up */
    bool accelerated;       /* KVM (or Hyper-V) rather than emulation */
    long pid;               /* QEMU's pid; 0 for HCS */
};

struct vm_events {
    /* One console line, without the trailing newline (CR stripped), as it arrives. */
    void (*on_console_line)(void *ctx, const char *line);
    /* The VM has stopped (guest powered off, crashed, or was killed). exit_code: the backend's
     * process status (QEMU exit code, or 128+signal); reason: a readable sentence. After this
     * callback vm_close may be called. */
    void (*on_exit)(void *ctx, int exit_code, const char *reason);
    void *ctx;
};

struct vm;

/* Creates and starts the VM. On failure nothing is left running and err says why (e.g.
 * "qemu-system-x86_64 not found", "/dev/kvm: permission denied and TCG not allowed"). */
int vm_start(uv_loop_t *loop, const struct vm_spec *spec, const struct vm_events *ev,
             struct vm **out, struct vm_info *info, struct evm_err *err);

/* Orderly stop: ask the guest's init to shut down (ctrl-alt-del, which the init turns into a
 * clean power-off), wait up to grace_ms for the VM to stop, then quit the VM (QMP "quit"),
 * then kill the process. on_exit fires once the VM is gone. Safe to call more than once. */
void vm_stop(struct vm *vm, unsigned grace_ms);

/* Kill at once (no guest shutdown); on_exit still fires. */
void vm_kill(struct vm *vm);

/* Releases the handle after on_exit; closes every libuv handle it owns (the loop must run
 * for the close callbacks to finish). */
void vm_close(struct vm *vm);

/* Which backend this build has ("qemu" on Linux). */
const char *vm_backend_name(void);

#endif
