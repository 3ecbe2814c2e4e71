/* init.c — the module-load micro-benchmark's PID 1 (bench/modload/modload.sh): loads the
 * dependencies given on the kernel command line once, then loads and unloads each measured
 * module ROUNDS times, printing one "MODLOAD" line per load with its time, and powers off.
 * Standalone (no project sources): it measures the kernel, not ephemerd-init.
 *   modload.deps=/m/a.ko,/m/b.ko  modload.mods=NAME:/m/x.ko,NAME:/m/y.ko  modload.rounds=N */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static long long now_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000000LL + t.tv_nsec / 1000;
}

static int load(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    long r = syscall(SYS_finit_module, fd, "", 0);
    int e = errno;
    close(fd);
    return r == 0 ? 0 : -e;
}

/* The value of KEY= on the kernel command line (static storage), or "". */
static const char *param(const char *cmdline, const char *key)
{
    static char out[4][2048];
    static int slot;
    char *v = out[slot++ % 4];
    v[0] = '\0';
    const char *p = strstr(cmdline, key);
    if (p) {
        p += strlen(key);
        size_t n = strcspn(p, " \n");
        if (n >= sizeof(out[0]))
            n = sizeof(out[0]) - 1;
        memcpy(v, p, n);
        v[n] = '\0';
    }
    return v;
}

int main(void)
{
    char cmdline[4096] = "";
    if (mount("proc", "/proc", "proc", 0, NULL) == 0) {
        FILE *f = fopen("/proc/cmdline", "r");
        if (f) {
            if (!fgets(cmdline, sizeof(cmdline), f))
                cmdline[0] = '\0';
            fclose(f);
        }
    }
    char deps[2048], mods[2048];
    snprintf(deps, sizeof(deps), "%s", param(cmdline, "modload.deps="));
    snprintf(mods, sizeof(mods), "%s", param(cmdline, "modload.mods="));
    int rounds = atoi(param(cmdline, "modload.rounds="));
    if (rounds < 1)
        rounds = 3;
    for (char *s = NULL, *d = strtok_r(deps, ",", &s); d; d = strtok_r(NULL, ",", &s)) {
        long long t = now_us();
        int r = load(d);
        printf("MODLOAD dep %s rc=%d %lld us\n", d, r, now_us() - t);
    }
    for (int round = 0; round < rounds; round++) {
        char list[2048];
        snprintf(list, sizeof(list), "%s", mods);
        for (char *s = NULL, *m = strtok_r(list, ",", &s); m; m = strtok_r(NULL, ",", &s)) {
            char *path = strchr(m, ':');
            if (!path)
                continue;
            *path++ = '\0';
            long long t = now_us();
            int r = load(path);
            long long d = now_us() - t;
            long u = syscall(SYS_delete_module, m, O_NONBLOCK);
            printf("MODLOAD round %d %s rc=%d %lld us (unload rc=%ld)\n", round, path, r, d, u);
        }
    }
    fflush(stdout);
    reboot(RB_POWER_OFF);
    return 0;
}
