/* cmd_doctor.c — `ephemerd-vmhost doctor [--data-dir DIR]`: can a boot work here? */
#include <stdio.h>
#include <string.h>

#include "agent/doctor.h"
#include "cli/commands.h"

static void usage(FILE *f)
{
    fputs("Usage: ephemerd-vmhost doctor [--data-dir DIR]\n"
          "\n"
          "Checks whether a boot can work on this host: the VM backend's needs (Linux: qemu,\n"
          "/dev/kvm; Windows: the Hyper-V platform, rights, the Default Switch) and, with\n"
          "--data-dir, the data directory (kernel, base initrd and daemon present and readable,\n"
          "config.toml accepted, no access for other users, free space). Prints one line per\n"
          "check and a one-line fix for each failure. Exit 0 when a boot can work, 1 when not,\n"
          "2 on a usage error.\n",
          f);
}

int cmd_doctor(int argc, char **argv)
{
    const char *data_dir = NULL;
    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        usage(stdout);
        return EXIT_OK;
    }
    if (argc == 3 && strcmp(argv[1], "--data-dir") == 0)
        data_dir = argv[2];
    else if (argc != 1) {
        usage(stderr);
        return EXIT_USAGE;
    }
    return doctor_run(data_dir, stdout) == 0 ? EXIT_OK : EXIT_FAIL;
}
