/* stopreq.c — owns the console input of the host's stop request: its terminal settings,
 * splitting it into bounded lines and deciding each line (see stopreq.h). */
#include "stopreq.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "conparse.h"
#include "log.h"
#include "strutil.h"

#define STOPREQ_READ_CHUNK 512
#define STOPREQ_EXCERPT 64

int stopreq_console_setup(int fd, struct evm_err *err)
{
    struct termios t;
    if (tcgetattr(fd, &t) != 0) {
        if (errno == ENOTTY || errno == EINVAL)
            return 0;
        int e = errno;
        return evm_errf(err, e, "console: reading the terminal settings: %s", strerror(e));
    }
    t.c_lflag |= ICANON;
    t.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
    t.c_cc[VEOF] = _POSIX_VDISABLE;
    if (tcsetattr(fd, TCSANOW, &t) != 0) {
        int e = errno;
        return evm_errf(err, e, "console: setting line mode without echo: %s", strerror(e));
    }
    return 1;
}

int stopreq_init(struct stopreq *r, int fd, const char *boot_id, struct evm_err *err)
{
    memset(r, 0, sizeof(*r));
    r->fd = -1;
    snprintf(r->boot_id, sizeof(r->boot_id), "%s", boot_id ? boot_id : "");
    if (linebuf_init(&r->lb, STOPREQ_MAX_LINE) < 0)
        return evm_errf(err, ENOMEM, "console: out of memory for the input line");
    r->fd = fd;
    return 0;
}

void stopreq_free(struct stopreq *r)
{
    linebuf_free(&r->lb);
    r->fd = -1;
}

int stopreq_fd(const struct stopreq *r)
{
    return r->fd;
}

/* "boot id <id>", or "no boot id". */
static const char *describe_id(const char *id, char *buf, size_t size)
{
    if (!id[0])
        return "no boot id";
    snprintf(buf, size, "boot id %s", id);
    return buf;
}

static void warn_other_boot(const struct stopreq *r, const char *got)
{
    char req[48], ours[48];
    log_warn("ignoring a console stop request for another boot: the request carries %s, this "
             "boot has %s",
             describe_id(got, req, sizeof(req)), describe_id(r->boot_id, ours, sizeof(ours)));
}

/* linebuf_line_fn: one complete console input line. */
static void decide_line(void *ctx, const char *line, size_t len, bool truncated)
{
    struct stopreq *r = ctx;
    if (truncated) {
        log_warn("console: discarding an input line longer than %d bytes", STOPREQ_MAX_LINE);
        return;
    }
    char got[BOOT_ID_HEX_LEN + 1];
    if (!conparse_stop_request(line, got)) {
        char shown[STOPREQ_EXCERPT + 4];
        str_excerpt(shown, sizeof(shown), line, len, STOPREQ_EXCERPT);
        log_debug("console: input \"%s\" is not a stop request", shown);
        return;
    }
    if (!got[0] || strcmp(got, r->boot_id) != 0) {
        warn_other_boot(r, got);
        return;
    }
    r->matched++;
}

unsigned stopreq_feed(struct stopreq *r, const char *data, size_t n)
{
    r->matched = 0;
    linebuf_feed(&r->lb, data, n, decide_line, r);
    return r->matched;
}

/* End of input or a read error: the last partial line is still decided, then no more. */
static unsigned stop_listening(struct stopreq *r)
{
    r->matched = 0;
    linebuf_flush(&r->lb, decide_line, r);
    r->fd = -1;
    return r->matched;
}

unsigned stopreq_read(struct stopreq *r)
{
    if (r->fd < 0)
        return 0;
    char buf[STOPREQ_READ_CHUNK];
    ssize_t n = read(r->fd, buf, sizeof(buf));
    if (n > 0)
        return stopreq_feed(r, buf, (size_t)n);
    if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
        return 0;
    if (n == 0)
        log_warn("console: end of input: no longer listening for stop requests");
    else
        log_warn("console: reading input: %s: no longer listening for stop requests",
                 strerror(errno));
    return stop_listening(r);
}
