/* qemu_host_posix.c — what this Linux host offers the QEMU backend: the programs on PATH,
 * whether KVM can run a stock kernel here. Used to start a VM, to print the launch plan
 * (run --dry-run) and by `doctor`. */
#include "vm/qemu_host.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vm/qemu_argv.h"

/* First executable `name` on PATH, malloc'd; NULL when absent. */
char *qemu_find_on_path(const char *name)
{
    const char *path = getenv("PATH");
    if (!path || !*path)
        path = "/usr/local/bin:/usr/bin:/bin";
    const char *p = path;
    while (*p) {
        const char *end = strchr(p, ':');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len > 0) {
            char *cand = qemu_asprintf("%.*s/%s", (int)len, p, name);
            if (!cand)
                return NULL;
            struct stat st;
            if (stat(cand, &st) == 0 && S_ISREG(st.st_mode) && access(cand, X_OK) == 0)
                return cand;
            free(cand);
        }
        if (!end)
            break;
        p = end + 1;
    }
    return NULL;
}

/* Whether this CPU offers hardware virtualisation to KVM. Under a nested setup without it
 * (e.g. the kvm_pvm module: /dev/kvm opens, but only PVM-built guest kernels run) a stock
 * kernel hangs in early boot, so /dev/kvm alone is not enough. */
static bool cpu_has_hw_virt(void)
{
    FILE *f = fopen("/proc/cpuinfo", "re");
    if (!f)
        return true; /* cannot tell: trust /dev/kvm */
    char line[8192];
    bool found = false;
    while (!found && fgets(line, sizeof(line), f)) {
        if (strncmp(line, "flags", 5) != 0)
            continue;
        char *save = NULL;
        for (char *tok = strtok_r(line + 5, " \t\n:", &save); tok;
             tok = strtok_r(NULL, " \t\n:", &save)) {
            if (strcmp(tok, "vmx") == 0 || strcmp(tok, "svm") == 0) {
                found = true;
                break;
            }
        }
        break; /* the first CPU's flags tell */
    }
    fclose(f);
    return found;
}

/* 0: KVM usable; else a negative errno and err says why not. */
int qemu_kvm_usable(struct evm_err *err)
{
    int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return evm_errf(err, errno, "/dev/kvm: %s", strerror(errno));
    close(fd);
    if (!cpu_has_hw_virt())
        return evm_errf(err, ENODEV,
                        "/dev/kvm opens but the CPU shows no vmx/svm (nested KVM without "
                        "hardware virtualisation cannot run a stock kernel)");
    return 0;
}
