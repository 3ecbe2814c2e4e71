/* cliargs.h — option values the commands share, parsed once: each helper prints the
 * usage error itself ("ephemerd-vmhost: --flag VALUE: what was expected") and returns -1,
 * so that the command returns EXIT_USAGE; and the common end of a command's getopt loop. */
#ifndef EVM_CLIARGS_H
#define EVM_CLIARGS_H

#include <stdio.h>

#include "initrd/bootinitrd.h" /* enum compress */

/* A whole number 0..max. */
int cli_uint(const char *flag, const char *s, unsigned max, unsigned *out);

/* --compress: zstd, gzip or none. */
int cli_compress(const char *s, enum compress *out);

/* An option the command's getopt loop does not handle itself: for 'h' (--help) the usage
 * goes to stdout and the result is EXIT_OK; for anything else to stderr, EXIT_USAGE. */
int cli_help_or_usage(int opt, void (*usage)(FILE *f));

#endif
