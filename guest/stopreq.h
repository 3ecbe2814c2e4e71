/* stopreq.h — the host's stop request on the console (design §4; MARKER_STOP of
 * common/markers.h): the console's input set up for it, the input split into bounded lines,
 * and for each line the decision whether it asks this boot to stop.
 *
 * A line that common/conparse.h's conparse_stop_request recognises counts only when it
 * carries this boot's id (the one from the kernel command line); a request carrying another
 * id, or none, is logged as a warning and ignored. A line longer than STOPREQ_MAX_LINE is
 * discarded up to its newline with a warning; any other line is not a request (debug log).
 * End of input or a read error ends the listening (logged once), never the VM. */
#ifndef EVM_GUEST_STOPREQ_H
#define EVM_GUEST_STOPREQ_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"
#include "linebuf.h"
#include "tail.h"

/* Longest console input line looked at; the request itself is 55 bytes. */
#define STOPREQ_MAX_LINE 256

struct stopreq {
    int fd;                            /* the console input; -1 when not (or no longer) read */
    char boot_id[BOOT_ID_HEX_LEN + 1]; /* this boot's; "" when the command line had none */
    struct linebuf lb;
    unsigned matched; /* requests for this boot in the lines fed so far, not yet taken */
};

/* Sets up the console input for the request: canonical (line) mode, so the line arrives
 * whole; no echo (ECHO, ECHONL off), so the host's request is not written back into the
 * console output it parses; no end-of-file character, so a stray ^D byte cannot end the
 * listening. Returns 1 when set, 0 when fd is not a terminal (a pipe in the tests: nothing
 * to set), or a negative errno with a message. */
int stopreq_console_setup(int fd, struct evm_err *err);

/* Starts listening on fd (not owned; -1: never listen) for requests for boot_id (NULL or "":
 * this boot has none, so no request matches). Returns 0, or -ENOMEM. */
int stopreq_init(struct stopreq *r, int fd, const char *boot_id, struct evm_err *err);
void stopreq_free(struct stopreq *r);

/* The fd to poll for input, -1 when not listening. */
int stopreq_fd(const struct stopreq *r);

/* Called when poll() reports the fd (readable, hung up or in error): one read(2), which
 * does not block once poll said so, and its bytes fed as by stopreq_feed. At end of input
 * (any pending partial line is still looked at) or on a read error, logs once and stops
 * listening. Returns how many requests for this boot it completed (stopreq_take). */
unsigned stopreq_read(struct stopreq *r);

/* Feeds console input bytes; every line they complete is decided as described above.
 * Returns how many requests for this boot the bytes completed. */
unsigned stopreq_feed(struct stopreq *r, const char *data, size_t n);

#endif
