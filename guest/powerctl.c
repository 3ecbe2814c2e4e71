/* powerctl.c — the poweroff/reboot/halt names of the init binary. See powerctl.h. */
#include "powerctl.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

static const struct {
    const char *name;
    int sig;
} powerctl_names[] = {
    {"halt", SIGUSR1},
    {"poweroff", SIGUSR2},
    {"reboot", SIGTERM},
};

int powerctl_signal_for(const char *name)
{
    if (!name)
        return 0;
    const char *slash = strrchr(name, '/');
    if (slash)
        name = slash + 1;
    for (size_t i = 0; i < sizeof(powerctl_names) / sizeof(powerctl_names[0]); i++)
        if (strcmp(name, powerctl_names[i].name) == 0)
            return powerctl_names[i].sig;
    return 0;
}

static void usage(FILE *f, const char *name)
{
    fprintf(f,
            "Usage: %s [-f] [-n]\n"
            "\n"
            "Asks the ephemerd VM's init (PID 1) to stop the VM: the daemon gets SIGTERM and\n"
            "a grace period, what is left is killed, disks are synced and unmounted, and the\n"
            "VM powers off (halt, poweroff and reboot all power off; the host restarts the\n"
            "VM when it wants it).\n"
            "  -f, --force     accepted; the stop is already bounded\n"
            "  -n, --no-sync   accepted and ignored; init always syncs\n"
            "  -h, --help      this text\n",
            name);
}

int powerctl_main(int argc, char **argv, pid_t pid)
{
    const char *name = argc > 0 && argv[0] ? argv[0] : "poweroff";
    const char *slash = strrchr(name, '/');
    if (slash)
        name = slash + 1;
    int sig = powerctl_signal_for(name);
    if (sig == 0) {
        fprintf(stderr, "%s: not one of halt, poweroff, reboot\n", name);
        return 1;
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout, name);
            return 0;
        }
        if (strcmp(a, "-f") == 0 || strcmp(a, "--force") == 0 || strcmp(a, "-n") == 0 ||
            strcmp(a, "--no-sync") == 0 || strcmp(a, "-fn") == 0 || strcmp(a, "-nf") == 0)
            continue;
        fprintf(stderr, "%s: unsupported argument '%s'\n", name, a);
        usage(stderr, name);
        return 1;
    }
    if (kill(pid, sig) != 0) {
        int e = errno;
        fprintf(stderr, "%s: cannot signal init (pid %ld): %s\n", name, (long)pid, strerror(e));
        return 1;
    }
    return 0;
}
