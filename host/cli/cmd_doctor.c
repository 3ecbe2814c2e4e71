/* cmd_doctor.c — `ephemerd-vmhost doctor [--data-dir DIR]`: can a boot work here? */
#include <stdio.h>
#include <string.h>

#include "agent/datadir.h"
#include "agent/doctor.h"
#include "cli/cliargs.h"
#include "cli/commands.h"

static void usage(FILE *f)
{
    fputs("Usage: ephemerd-vmhost doctor [--data-dir DIR]\n"
          "\n"
          "Checks whether a boot can work on this host: the VM backend's needs (Linux: qemu,\n"
          "/dev/kvm; Windows: the Hyper-V platform, rights, the Default Switch) and, with\n"
          "--data-dir, the data directory (kernel, base initrd and daemon present and readable,\n"
          "config.toml accepted, no access for other users, free space). Prints one line per\n"
          "check and a one-line fix for each failure. Without --data-dir the platform's data\n"
          "directory is checked (/var/lib/ephemerd-vm on Linux, %ProgramData%\\ephemerd on\n"
          "Windows). Exit 0 when a boot can work, 1 when not, 2 on a usage error.\n",
          f);
}

int cmd_doctor(int argc, char **argv)
{
    const char *data_dir = NULL;
    char dir[DATADIR_PATH_MAX];
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
    if (cli_data_dir(data_dir, dir, sizeof(dir)) < 0)
        return EXIT_FAIL;
    return doctor_run(dir, stdout) == 0 ? EXIT_OK : EXIT_FAIL;
}
