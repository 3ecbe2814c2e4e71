/* test_qemu_argv_posix.c — the QEMU command line built from a vm_spec (no I/O): the
 * accelerator, the root disk as virtio-blk with QEMU's ",," escaping, one loopback forward
 * per guest port, the virtio-net and virtio-rng devices, the duplex console on stdio, QMP,
 * and the setpriv prefix that ties QEMU's life to the agent's. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "vm/qemu_argv.h"

/* The argument that follows `flag` (the n-th occurrence, from 0), or NULL. */
static const char *after(const struct qemu_argv *a, const char *flag, int nth)
{
    for (size_t i = 0; i + 1 < a->n; i++)
        if (strcmp(a->v[i], flag) == 0 && nth-- == 0)
            return a->v[i + 1];
    return NULL;
}

static void build(struct qemu_argv *a, const struct vm_spec *spec, bool kvm, const char *setpriv)
{
    static const uint16_t ports[] = {41000, 41001};
    struct qemu_launch l = {
        .spec = spec,
        .kvm = kvm,
        .qemu = "/usr/bin/qemu-system-x86_64",
        .setpriv = setpriv,
        .agent_pid = 4242,
        .qmp_path = "/run/x,y/qmp.sock",
        .host_ports = ports,
    };
    struct evm_err err = {0};
    assert_int_equal(qemu_argv_build(a, &l, &err), 0);
    assert_null(a->v[a->n]);
}

static const struct vm_spec spec = {
    .kernel = "/k/vmlinuz",
    .initrd = "/d/boot-initrd.img",
    .cmdline = "console=ttyS0 ephemerd.root_disk=/dev/vda",
    .cpus = 3,
    .memory_mb = 3000,
    .disk = "/d/root,disk.img",
    .guest_ports = {9000, 9001},
    .nports = 2,
};

static void test_tcg_without_setpriv(void **state)
{
    (void)state;
    struct qemu_argv a;
    build(&a, &spec, false, NULL);
    assert_string_equal(a.v[0], "/usr/bin/qemu-system-x86_64");
    assert_string_equal(after(&a, "-accel", 0), "tcg");
    assert_string_equal(after(&a, "-cpu", 0), "max");
    assert_string_equal(after(&a, "-smp", 0), "3");
    assert_string_equal(after(&a, "-m", 0), "3000");
    assert_string_equal(after(&a, "-kernel", 0), "/k/vmlinuz");
    assert_string_equal(after(&a, "-initrd", 0), "/d/boot-initrd.img");
    assert_string_equal(after(&a, "-append", 0), spec.cmdline);
    /* virtio-blk is what makes the guest see /dev/vda; a ',' in a path is doubled */
    const char *drive = after(&a, "-drive", 0);
    assert_non_null(drive);
    assert_non_null(strstr(drive, "file=/d/root,,disk.img,format=raw,if=virtio,"));
    assert_string_equal(after(&a, "-netdev", 0), "user,id=n0,hostfwd=tcp:127.0.0.1:41000-:9000,"
                                                 "hostfwd=tcp:127.0.0.1:41001-:9001");
    /* the network and a hardware RNG (the guest loads virtio_rng after the launch) */
    assert_string_equal(after(&a, "-device", 0), "virtio-net-pci,netdev=n0");
    assert_string_equal(after(&a, "-device", 1), "virtio-rng-pci");
    assert_null(after(&a, "-device", 2));
    assert_string_equal(after(&a, "-chardev", 0), "stdio,id=con,signal=off");
    assert_string_equal(after(&a, "-serial", 0), "chardev:con");
    assert_string_equal(after(&a, "-chardev", 1),
                        "socket,id=qmp,path=/run/x,,y/qmp.sock,server=on,wait=off");
    /* no pidfile: QEMU would write it following symlinks, and the agent knows the pid */
    assert_null(after(&a, "-pidfile", 0));
    bool no_reboot = false;
    for (size_t i = 0; i < a.n; i++)
        no_reboot |= strcmp(a.v[i], "-no-reboot") == 0;
    assert_true(no_reboot);
    qemu_argv_free(&a);
    assert_null(a.v);
}

static void test_kvm_with_setpriv(void **state)
{
    (void)state;
    struct vm_spec s = spec;
    s.disk = NULL;
    s.nports = 0;
    struct qemu_argv a;
    build(&a, &s, true, "/usr/bin/setpriv");
    assert_string_equal(a.v[0], "/usr/bin/setpriv");
    assert_string_equal(after(&a, "--pdeathsig", 0), "KILL");
    /* sh checks its parent is still the agent before exec'ing QEMU */
    assert_string_equal(after(&a, "sh", 0), "4242");
    assert_string_equal(after(&a, "4242", 0), "/usr/bin/qemu-system-x86_64");
    assert_string_equal(after(&a, "-accel", 0), "kvm");
    assert_string_equal(after(&a, "-cpu", 0), "host");
    assert_null(after(&a, "-drive", 0));
    assert_string_equal(after(&a, "-netdev", 0), "user,id=n0");
    assert_string_equal(after(&a, "-device", 1), "virtio-rng-pci");
    qemu_argv_free(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tcg_without_setpriv),
        cmocka_unit_test(test_kvm_with_setpriv),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
