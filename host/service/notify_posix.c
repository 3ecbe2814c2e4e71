/* notify_posix.c — the notify socket (see notify.h): one AF_UNIX datagram socket, sendto the
 * address $NOTIFY_SOCKET names, as sd_notify(3) does. */
#include "service/notify.h"

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

struct notify {
    int fd;
    struct sockaddr_un addr;
    socklen_t addr_len;
};

/* A path ("/run/systemd/notify") or an abstract name ("@name": a leading NUL). */
static int parse_address(const char *s, struct notify *n, struct evm_err *err)
{
    size_t len = strlen(s);
    if ((s[0] != '/' && s[0] != '@') || len < 2)
        return evm_errf(err, EINVAL, "%s=%s: not a socket path or an @abstract name", NOTIFY_ENV,
                        s);
    if (len >= sizeof(n->addr.sun_path))
        return evm_errf(err, EINVAL, "%s=%s: longer than a socket address", NOTIFY_ENV, s);
    memset(&n->addr, 0, sizeof(n->addr));
    n->addr.sun_family = AF_UNIX;
    memcpy(n->addr.sun_path, s, len);
    if (s[0] == '@')
        n->addr.sun_path[0] = '\0';
    /* An abstract name is exactly its bytes; a path includes its NUL. */
    n->addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + (s[0] == '/'));
    return 0;
}

int notify_open(struct notify **out, struct evm_err *err)
{
    *out = NULL;
    const char *s = getenv(NOTIFY_ENV);
    if (!s || !s[0]) {
        unsetenv(NOTIFY_ENV);
        return 0;
    }
    struct notify *n = calloc(1, sizeof(*n));
    if (!n)
        return evm_errf(err, ENOMEM, "out of memory");
    n->fd = -1;
    int r = parse_address(s, n, err);
    if (r == 0) {
        n->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (n->fd < 0)
            r = evm_errf(err, errno, "notify socket: %s", strerror(errno));
    }
    unsetenv(NOTIFY_ENV);
    if (r < 0) {
        free(n);
        return r;
    }
    *out = n;
    return 0;
}

int notify_send(struct notify *n, const char *msg, struct evm_err *err)
{
    if (!n)
        return 0;
    size_t len = strlen(msg);
    ssize_t w =
        sendto(n->fd, msg, len, MSG_NOSIGNAL, (const struct sockaddr *)&n->addr, n->addr_len);
    if (w < 0)
        return evm_errf(err, errno, "sending to the service manager: %s", strerror(errno));
    if ((size_t)w != len)
        return evm_errf(err, EMSGSIZE, "sending to the service manager: %zd of %zu bytes", w, len);
    return 0;
}

void notify_close(struct notify *n)
{
    if (!n)
        return;
    if (n->fd >= 0)
        close(n->fd);
    free(n);
}

uint64_t notify_monotonic_usec(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
        return 0;
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}
