/* vm_qemu_plan_posix.c — the QEMU backend's launch plan (vm_plan, for `run --dry-run`) and
 * its host checks (vm_host_checks, for `doctor`). Both look at the host as vm_start would —
 * qemu and setpriv on PATH, KVM usable — and start nothing. */
#include <cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vm/qemu_argv.h"
#include "vm/qemu_host.h"
#include "vm/vm.h"

static int plan_json(const struct qemu_argv *a, bool kvm, char **json, struct evm_err *err)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *argv = cJSON_CreateArray();
    bool ok = o && argv && cJSON_AddStringToObject(o, "backend", "qemu") &&
              cJSON_AddStringToObject(o, "accelerator", kvm ? "kvm" : "tcg");
    if (ok)
        cJSON_AddItemToObject(o, "argv", argv);
    else
        cJSON_Delete(argv);
    for (size_t i = 0; ok && i < a->n; i++)
        ok = cJSON_AddItemToArray(argv, cJSON_CreateString(a->v[i]));
    *json = ok ? cJSON_Print(o) : NULL;
    cJSON_Delete(o);
    return *json ? 0 : evm_errf(err, ENOMEM, "vm: out of memory printing the plan");
}

int vm_plan(const struct vm_spec *spec, char **json, struct evm_err *err)
{
    *json = NULL;
    struct evm_err why = {0};
    bool kvm = qemu_kvm_usable(&why) == 0;
    if (!kvm && !spec->allow_tcg)
        return evm_errf(err, ENODEV, "vm: %s and TCG not allowed", why.msg);
    char *qemu = qemu_find_on_path(QEMU_BIN);
    char *setpriv = qemu_find_on_path("setpriv");
    char *qmp = qemu_asprintf("%s/qmp.sock", spec->state_dir);
    static const uint16_t picked_at_start[VM_MAX_PORTS] = {0};
    struct qemu_launch l = {
        .spec = spec,
        .kvm = kvm,
        .qemu = qemu ? qemu : QEMU_BIN,
        .setpriv = setpriv,
        .agent_pid = (long)getpid(),
        .qmp_path = qmp ? qmp : "",
        .host_ports = picked_at_start,
    };
    struct qemu_argv a;
    int r = qmp ? qemu_argv_build(&a, &l, err) : evm_errf(err, ENOMEM, "vm: out of memory");
    if (r == 0) {
        r = plan_json(&a, kvm, json, err);
        qemu_argv_free(&a);
    }
    free(qemu);
    free(setpriv);
    free(qmp);
    return r;
}

static void check_program(void (*report)(void *, const struct vm_check *), void *ctx,
                          const char *name, bool required, const char *fix)
{
    struct vm_check c = {.what = name, .required = required};
    char *path = qemu_find_on_path(name);
    c.ok = path != NULL;
    if (path)
        snprintf(c.detail, sizeof(c.detail), "%s", path);
    else
        snprintf(c.detail, sizeof(c.detail), "not found on PATH");
    if (!c.ok)
        snprintf(c.fix, sizeof(c.fix), "%s", fix);
    free(path);
    report(ctx, &c);
}

void vm_host_checks(void (*report)(void *ctx, const struct vm_check *c), void *ctx)
{
    check_program(report, ctx, QEMU_BIN, true, "apt-get install qemu-system-x86");
    check_program(report, ctx, "setpriv", false,
                  "apt-get install util-linux (without it QEMU outlives a killed agent)");
    struct vm_check kvm = {.what = "/dev/kvm", .required = false};
    struct evm_err why = {0};
    kvm.ok = qemu_kvm_usable(&why) == 0;
    if (kvm.ok) {
        snprintf(kvm.detail, sizeof(kvm.detail), "usable: hardware virtualisation");
    } else {
        snprintf(kvm.detail, sizeof(kvm.detail), "%.180s: the VM would be emulated (TCG, slow)",
                 why.msg);
        snprintf(kvm.fix, sizeof(kvm.fix),
                 "enable VT-x/AMD-V (or nested virtualisation) and give the agent access to "
                 "/dev/kvm (group kvm)");
    }
    report(ctx, &kvm);
}
