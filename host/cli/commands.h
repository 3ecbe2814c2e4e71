/* commands.h — the agent's subcommands. Each takes the arguments after its own name
 * (argv[0] is the subcommand) and returns the process exit code (see EXIT_*). */
#ifndef EVM_COMMANDS_H
#define EVM_COMMANDS_H

#include <stdio.h>

enum {
    EXIT_OK = 0,
    EXIT_FAIL = 1,     /* the command failed; the reason is on stderr */
    EXIT_USAGE = 2,    /* bad command line */
    EXIT_MISMATCH = 3, /* initrd inspect: the manifest does not match the contents */
};

int cmd_initrd(int argc, char **argv);
int cmd_cmdline(int argc, char **argv);
int cmd_config(int argc, char **argv); /* `config show` */
int cmd_run(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_doctor(int argc, char **argv);
int cmd_service(int argc, char **argv); /* `service install|uninstall|start|stop|...` */

#endif
