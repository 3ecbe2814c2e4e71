/* qemu_argv_posix.c — see qemu_argv.h. Choices written into the command line:
 * - q35, no default devices, no graphics, -no-reboot (a guest reset ends the VM: the agent
 *   decides about restarts, as HCS's StopOnReset does);
 * - the root disk as virtio-blk (/dev/vda in the guest), raw, cache=writeback: the guest's
 *   flushes reach the host disk, so the persistent ext4 disk survives a host crash through
 *   its journal;
 * - user networking with one loopback forward per guest port;
 * - the serial console on QEMU's stdio (duplex), QMP on a unix socket. */
#include "vm/qemu_argv.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *qemu_asprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    if (vasprintf(&s, fmt, ap) < 0)
        s = NULL;
    va_end(ap);
    return s;
}

/* QEMU option values: a ',' in a value is written ",,". */
static char *opt_escape(const char *s)
{
    size_t n = 0;
    for (const char *p = s; *p; p++)
        n += *p == ',' ? 2 : 1;
    char *out = malloc(n + 1);
    if (!out)
        return NULL;
    char *o = out;
    for (const char *p = s; *p; p++) {
        *o++ = *p;
        if (*p == ',')
            *o++ = ',';
    }
    *o = '\0';
    return out;
}

static void arg_own(struct qemu_argv *a, char *s)
{
    if (!s) {
        a->oom = true;
        return;
    }
    if (a->n + 2 > a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 64;
        char **v = realloc(a->v, cap * sizeof(*v));
        if (!v) {
            free(s);
            a->oom = true;
            return;
        }
        a->v = v;
        a->cap = cap;
    }
    a->v[a->n++] = s;
    a->v[a->n] = NULL;
}

static void arg(struct qemu_argv *a, const char *s)
{
    arg_own(a, strdup(s));
}

void qemu_argv_free(struct qemu_argv *a)
{
    for (size_t i = 0; i < a->n; i++)
        free(a->v[i]);
    free(a->v);
    memset(a, 0, sizeof(*a));
}

int qemu_argv_build(struct qemu_argv *a, const struct qemu_launch *l, struct evm_err *err)
{
    const struct vm_spec *spec = l->spec;
    const bool kvm = l->kvm;
    memset(a, 0, sizeof(*a));
    if (l->setpriv) {
        /* setpriv sets PR_SET_PDEATHSIG and execs sh, which execs QEMU: one pid all along.
         * sh closes the race of an agent dying before the prctl: its $PPID (getppid() after
         * the prctl) must still be this agent, else QEMU is never started. */
        arg(a, l->setpriv);
        arg(a, "--pdeathsig");
        arg(a, "KILL");
        arg(a, "--");
        arg(a, "/bin/sh");
        arg(a, "-c");
        arg(a, "[ \"$PPID\" = \"$1\" ] || exit 97; shift; exec \"$@\"");
        arg(a, "sh");
        arg_own(a, qemu_asprintf("%ld", l->agent_pid));
    }
    arg(a, l->qemu);
    arg(a, "-M");
    arg(a, "q35");
    arg(a, "-accel");
    arg(a, kvm ? "kvm" : "tcg");
    arg(a, "-cpu");
    arg(a, kvm ? "host" : "max");
    arg(a, "-smp");
    arg_own(a, qemu_asprintf("%u", spec->cpus));
    arg(a, "-m");
    arg_own(a, qemu_asprintf("%u", spec->memory_mb));
    arg(a, "-nodefaults");
    arg(a, "-no-user-config");
    arg(a, "-nographic");
    arg(a, "-vga");
    arg(a, "none");
    arg(a, "-display");
    arg(a, "none");
    arg(a, "-no-reboot");
    arg(a, "-kernel");
    arg(a, spec->kernel);
    arg(a, "-initrd");
    arg(a, spec->initrd);
    arg(a, "-append");
    arg(a, spec->cmdline);
    if (spec->disk) {
        char *f = opt_escape(spec->disk);
        arg(a, "-drive");
        arg_own(a, f ? qemu_asprintf("file=%s,format=raw,if=virtio,cache=writeback,"
                                     "discard=unmap,detect-zeroes=unmap",
                                     f)
                     : NULL);
        free(f);
    }
    char *fw = strdup("user,id=n0");
    for (unsigned i = 0; fw && i < spec->nports; i++) {
        char *next = qemu_asprintf("%s,hostfwd=tcp:127.0.0.1:%u-:%u", fw, l->host_ports[i],
                                   spec->guest_ports[i]);
        free(fw);
        fw = next;
    }
    arg(a, "-netdev");
    arg_own(a, fw);
    arg(a, "-device");
    arg(a, "virtio-net-pci,netdev=n0");
    /* A hardware RNG for the guest's virtio_rng (docs/guest-init.md, "Hardware RNG"): the
     * kernel's pool is fed from the host's, whatever the CPU model offers. */
    arg(a, "-device");
    arg(a, "virtio-rng-pci");
    arg(a, "-chardev");
    arg(a, "stdio,id=con,signal=off");
    arg(a, "-serial");
    arg(a, "chardev:con");
    char *q = opt_escape(l->qmp_path);
    arg(a, "-chardev");
    arg_own(a, q ? qemu_asprintf("socket,id=qmp,path=%s,server=on,wait=off", q) : NULL);
    free(q);
    arg(a, "-mon");
    arg(a, "chardev=qmp,mode=control");
    if (a->oom) {
        qemu_argv_free(a);
        return evm_errf(err, ENOMEM, "vm: out of memory building qemu's command line");
    }
    return 0;
}
