/* console.c — writing the console markers (see console.h): one write(2) per line, so lines
 * from init's threads and the daemon never interleave mid-line (the terminal serialises
 * writes); and keeping the kernel's routine messages off the console, which can split one. */
#include "console.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/klog.h>
#include <time.h>

#include "fileutil.h"
#include "markers.h"

void console_init(struct console *c, int fd)
{
    c->fd = fd;
    c->boot_id[0] = '\0';
}

void console_set_boot_id(struct console *c, const char *boot_id)
{
    snprintf(c->boot_id, sizeof(c->boot_id), "%s", boot_id ? boot_id : "");
}

#define KLOG_CONSOLE_LEVEL 8 /* SYSLOG_ACTION_CONSOLE_LEVEL, syslog(2) */

int console_kernel_level(int level, struct evm_err *err)
{
    if (klogctl(KLOG_CONSOLE_LEVEL, NULL, level) < 0)
        return evm_errf(err, errno, "setting the kernel's console log level to %d: %s", level,
                        strerror(errno));
    return 0;
}

unsigned long long console_boottime_ms(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_BOOTTIME, &ts) != 0)
        return 0;
    return (unsigned long long)ts.tv_sec * 1000u + (unsigned long long)ts.tv_nsec / 1000000u;
}

static void emit(const struct console *c, const char *body)
{
    char line[768];
    int n = c->boot_id[0] ? snprintf(line, sizeof(line), "%s boot_id=%s\n", body, c->boot_id)
                          : snprintf(line, sizeof(line), "%s\n", body);
    if (n < 0)
        return;
    size_t len = (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1;
    if (line[len - 1] != '\n')
        line[len - 1] = '\n';
    /* A failure is not reported: the console is where it would be reported to. */
    (void)write_all(c->fd, line, len, NULL, "the console");
}

void console_stage(const struct console *c, const char *stage)
{
    char body[128];
    snprintf(body, sizeof(body), MARKER_STAGE " stage=%s ms=%llu", stage, console_boottime_ms());
    emit(c, body);
}

void console_ip(const struct console *c, const char *ipv4)
{
    char body[64];
    snprintf(body, sizeof(body), MARKER_IP "%s", ipv4);
    emit(c, body);
}

void console_fatal(const struct console *c, const char *stage, const char *reason)
{
    char safe[420];
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)(reason ? reason : ""); *p && o < 400;
         p++) {
        if (*p == '"' || *p == '\\') {
            safe[o++] = '\\';
            safe[o++] = (char)*p;
        } else {
            safe[o++] = (*p < 0x20 || *p == 0x7f) ? ' ' : (char)*p;
        }
    }
    safe[o] = '\0';
    char body[600];
    snprintf(body, sizeof(body), MARKER_FATAL " stage=%s reason=\"%s\"", stage, safe);
    emit(c, body);
}

void console_exit(const struct console *c, int status)
{
    char body[64];
    snprintf(body, sizeof(body), MARKER_EXIT " status=%d", status);
    emit(c, body);
}
