/* cmd_base.h — `ephemerd-vmhost initrd base`: build the base initrd from a list. */
#ifndef EVM_CMD_BASE_H
#define EVM_CMD_BASE_H

/* argv[0] is "base"; returns the process exit code (EXIT_* in commands.h). */
int cmd_initrd_base(int argc, char **argv);

#endif
