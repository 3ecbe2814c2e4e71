/* vm.h — the VM backend interface (design §5): one interface, one implementation per
 * platform (QEMU on Linux: vm_qemu_posix.c with vmdisk_posix.c; HCS on Windows:
 * vm_hcs_win.c). The agent (host/agent/) is written against this header only: what differs
 * between backends — the device the guest sees its root disk as, the disk's format, how the
 * host reaches a guest port, how a VM is stopped when the guest does not stop itself — is
 * said here by the backend, never assumed by the agent.
 *
 * Everything is driven by the caller's libuv loop; callbacks run on it. */
#ifndef EVM_VM_H
#define EVM_VM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "err.h"

#define VM_MAX_PORTS 4

/* What a backend is, known before any VM exists. */
struct vm_backend {
    const char *name;      /* "qemu", "hcs" */
    const char *root_disk; /* the device the guest sees the root disk as: "/dev/vda"
                            * (virtio-blk) or "/dev/sda" (Hyper-V SCSI) */
    const char *disk_file; /* the root disk's file name in the VM directory: "root.img"
                            * (raw) or "root.vhdx" */
    /* the smallest VM it boots: HOSTCFG_MIN_MEMORY_MB of its build (config/hostcfg.h) */
    unsigned min_memory_mb;
};

/* This build's backend. */
const struct vm_backend *vm_backend(void);

/* Creates the root disk at path if missing, or grows it to size_bytes (never shrinks it),
 * in the backend's format (QEMU: a sparse raw file; HCS: a dynamic VHDX). The VM must be
 * off. *grown tells whether anything was created or grown. */
int vm_disk_ensure(const char *path, uint64_t size_bytes, bool *grown, struct evm_err *err);

struct vm_spec {
    const char *name;        /* the VM's name, unique per data dir (HCS: the compute
                              * system id; QEMU: the process title) */
    const char *kernel;      /* kernel image (QEMU: vmlinux ELF or bzImage) */
    const char *initrd;      /* the boot initrd */
    const char *cmdline;     /* kernel command line, built for this backend's root_disk */
    unsigned cpus;           /* cpus and memory_mb: within the host config's limits */
    unsigned memory_mb;      /* (hostcfg_check_vm_size), memory >= min_memory_mb */
    const char *disk;        /* root disk (vm_disk_ensure made it), NULL: none */
    const char *state_dir;   /* per-VM runtime files: sockets (created 0700 if missing) */
    const char *console_log; /* every console byte is appended here (0600) */
    /* The guest TCP ports the host must reach (containerd, dispatch, …). How it reaches them
     * is the backend's answer in vm_info.reach. */
    uint16_t guest_ports[VM_MAX_PORTS];
    unsigned nports;
    bool allow_tcg; /* QEMU: when hardware virtualisation is unusable, emulate (slow) */
};

/* What every backend checks of a spec before it starts anything (vmspec.c): the required
 * paths, nports <= VM_MAX_PORTS, and cpus/memory_mb within the host config's limits.
 * -EINVAL naming what is wrong. */
int vm_spec_check(const struct vm_spec *spec, struct evm_err *err);

/* How the host reaches guest port spec.guest_ports[i]. */
enum vm_reach_kind {
    /* A forward on the host's loopback: connect to 127.0.0.1:host_ports[i] (QEMU user
     * networking). */
    VM_REACH_LOOPBACK_FORWARD,
    /* The guest's own address (the EPHEMERD_IP it prints), at the guest port itself (a
     * Hyper-V switch). */
    VM_REACH_GUEST_ADDRESS,
};

struct vm_reach {
    enum vm_reach_kind kind;
    uint16_t host_ports[VM_MAX_PORTS]; /* VM_REACH_LOOPBACK_FORWARD only */
    /* A connection that is accepted proves a listener only once it has stayed open this long
     * (or delivered data): QEMU's forward accepts on the host at once and closes when the
     * guest refuses. 0: an accepted connection is the proof. */
    unsigned accept_hold_ms;
};

struct vm_info {
    struct vm_reach reach;
    bool accelerated; /* KVM (or Hyper-V) rather than emulation */
    long pid;         /* QEMU's pid; 0 for HCS */
};

/* How a VM ended, as far as the backend can tell. */
enum vm_exit_kind {
    VM_EXIT_POWEROFF,   /* the guest powered off (asked or not) */
    VM_EXIT_FORCED,     /* the host ended it: quit, terminate or kill */
    VM_EXIT_UNEXPECTED, /* anything else: a reset, a crash of the VM process, a lost service */
    VM_EXIT_CRASH,      /* the guest crashed (kernel panic reported by the platform) */
};

struct vm_events {
    /* One console line, without the trailing newline (CR stripped), as it arrives. */
    void (*on_console_line)(void *ctx, const char *line);
    /* The VM has stopped. exit_code: the backend's status (QEMU's exit code, or 128+signal);
     * reason: a readable sentence. After this callback vm_close may be called. */
    void (*on_exit)(void *ctx, enum vm_exit_kind kind, int exit_code, const char *reason);
    void *ctx;
};

struct vm;

/* Creates and starts the VM. On failure nothing is left running and err says why (e.g.
 * "qemu-system-x86_64 not found", "/dev/kvm: permission denied and TCG not allowed"). */
int vm_start(uv_loop_t *loop, const struct vm_spec *spec, const struct vm_events *ev,
             struct vm **out, struct vm_info *info, struct evm_err *err);

/* Writes bytes to the guest's serial console input (the orderly stop request of the
 * contract, common/markers.h). Queued on the loop; -EPIPE once the console is closed. */
int vm_console_write(struct vm *vm, const char *data, size_t len, struct evm_err *err);

/* The backend's part of the orderly stop. The caller has already written the contract's stop
 * request on the console (requested = true) or could not (false). The backend waits for the
 * guest to power off, uses its own platform request as a fallback (QEMU: ctrl-alt-delete,
 * at once when !requested, else after half the grace; HCS: a shutdown request), and ends
 * the VM when grace_ms have passed (QEMU: quit, then kill; HCS: terminate). on_exit fires
 * once the VM is gone. Safe to call more than once. */
void vm_stop(struct vm *vm, unsigned grace_ms, bool requested);

/* Ends the VM at once (no guest shutdown); on_exit still fires. */
void vm_kill(struct vm *vm);

/* Releases the handle after on_exit; closes every libuv handle it owns (the loop must run
 * for the close callbacks to finish). */
void vm_close(struct vm *vm);

/* ---- what `run --dry-run` and `doctor` ask of the backend, starting nothing ---------- */

/* The launch plan for spec as a JSON object (malloc'd, NUL-terminated):
 *   QEMU: {"backend":"qemu","accelerator":"kvm"|"tcg","argv":[…]}, with the loopback ports
 *         that are picked at start shown as 0;
 *   HCS:  {"backend":"hcs","document":{…the compute system document…},"endpoint":{…}}.
 * Reads the host (which programs exist, KVM) but changes nothing. */
int vm_plan(const struct vm_spec *spec, char **json, struct evm_err *err);

struct vm_check {
    const char *what; /* e.g. "qemu-system-x86_64", "/dev/kvm", "Hyper-V platform" */
    bool ok;
    bool required;    /* a boot cannot work while this fails */
    char detail[256]; /* what was found */
    char fix[256];    /* when !ok: one line saying how to fix it */
};

/* The backend's checks of this host, each reported through report as it completes. */
void vm_host_checks(void (*report)(void *ctx, const struct vm_check *c), void *ctx);

#endif
