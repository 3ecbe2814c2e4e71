/* ephemerd-linux.c — the stand-in daemon the e2e tests and the demo install in the guest
 * as /usr/local/bin/ephemerd-linux. It is a test program, not product code.
 *
 * It reports what it was given on stdout (the guest console), one fact per line, each
 * prefixed "STANDIN " so tests can grep:
 *   STANDIN boottime_ms=<CLOCK_BOOTTIME at start, ms>
 *   STANDIN argv=<argv joined by spaces>
 *   STANDIN env PATH=<value> HOME=<value>      ("<unset>" when missing)
 *   STANDIN environ <NAME=value>               (one line per variable)
 *   STANDIN ids pid=<n> uid=<n> gid=<n>
 *   STANDIN flags serve=<0|1> data_dir=<p> containerd_only=<0|1> dind=<0|1>
 *           dind_allow_privileged=<0|1>    (one line)
 *   STANDIN config=none                        (no --config)
 *   STANDIN config path=<p>                    (then, for that file:)
 *   STANDIN config exists=<yes|no>
 *   STANDIN config type=<regular|symlink|directory|fifo|other>   (lstat, not followed)
 *   STANDIN config mode=<octal, 4 digits> / uid=<n> / gid=<n> / size=<n>  (one line each)
 *   STANDIN config sha256=<64 hex>             (regular files only; nettle)
 *   STANDIN standin exit_after_ms=<n> exit_code=<k>   (when the config sets them)
 *   STANDIN standin exit_marker_only=<k>       (likewise)
 *   PROBE ...                                  (probe mode, below; before listening)
 *   STANDIN listening addr=<a> port=<p>        (containerd port, then port+1)
 *   STANDIN ready
 *   STANDIN connection port=<p>                (first 16 per port)
 *   STANDIN exiting on SIGTERM                 (exit 0; SIGINT likewise, named)
 *   STANDIN exiting with code <k>              (test behaviour below)
 *   STANDIN error <text>                       (exit 2)
 *
 * Each accepted connection gets "ephemerd-standin <port>\n" (the guest-side port) and is
 * closed.
 *
 * Test behaviour comes from the config file given by --config, so tests drive it through
 * the real config channel: a table
 *     [standin]
 *     exit_after_ms = 200
 *     exit_code = 3
 * makes it exit with code 3 200 ms after it is listening. exit_code alone means exit right
 * after listening; exit_after_ms alone means exit 0. `exit_marker_only = 3` prints, once
 * listening, the exit marker init prints for a daemon that exited with 3
 * ("EPHEMERD_EXIT status=3 boot_id=<this boot's, from /proc/cmdline>") and keeps running:
 * the guest then never powers off, which tests the host's power-off deadline. Parsing is a tiny
 * line scanner for just these keys (section headers, `key = value`, trailing `# comments`):
 * acceptable for a test program, nothing else in the file is interpreted.
 *
 * Probe mode (`probe = true` in [standin]; the e2e workload scenario): before listening,
 * the stand-in checks what a real daemon needs of the VM and reports each check on the
 * console as one line, "PROBE ok <name>[: <detail>]" or "PROBE FAIL <name>: <why>":
 *   getrandom   32 bytes from getrandom(2) (blocking, as Go's crypto/rand asks) within
 *               5 s, in a child killed at the deadline; names the hwrng in use
 *   then the checks of /usr/lib/ephemerd-probe/probe.sh (test/workload/probe.sh, in the
 *   workload rootfs), run with stdout and stderr on a pipe: its "PROBE ok/FAIL" lines are
 *   forwarded as they are and counted, any other line as "PROBE output <line>"; it first
 *   announces "PROBE plan <n>" (forwarded as "PROBE plan: <n> checks in <script>"), and a
 *   script that reports fewer checks, is missing or is still running after 180 s is a
 *   failed check "probe-script" ("PROBE script done in <ms> ms" otherwise)
 * and ends with "PROBE summary: <n> checks, <k> ok, <m> failed[; first failed: <name>]".
 * The probe's result does not change what follows: the daemon listens and stops as usual.
 * SIGTERM/SIGINT during the script kills it (its process group), fails "probe-script",
 * prints the summary and exits 0 ("STANDIN exiting on SIGTERM"), as it would listening.
 *
 * Options understood (`--opt value` or `--opt=value`): serve (subcommand), --config,
 * --data-dir, --containerd-tcp-port (default 10000), --containerd-tcp-addr (default
 * 0.0.0.0), --containerd-only, --dind, --dind-allow-privileged. Unknown arguments are
 * reported and ignored.
 *
 * Built static with musl by scripts/test/build-standin.sh; only libc and nettle (SHA-256). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nettle/sha2.h>

#define DEFAULT_PORT 10000
#define SCAN_MAX (1024 * 1024) /* bytes of the config the line scanner looks at */
#define LOG_CONNECTIONS 16
#define PROBE_SCRIPT "/usr/lib/ephemerd-probe/probe.sh"
#define PROBE_HWRNG "/sys/devices/virtual/misc/hw_random/rng_current"
#define PROBE_RANDOM_BYTES 32
#define PROBE_RANDOM_DEADLINE_MS 5000
#define PROBE_SCRIPT_DEADLINE_MS 180000
#define PROBE_LINE_MAX 2048

extern char **environ;

struct options {
    bool serve;
    const char *config;
    const char *data_dir;
    const char *addr;
    int port;
    bool containerd_only;
    bool dind;
    bool dind_allow_privileged;
};

struct behaviour {
    bool have_after;
    long after_ms;
    bool have_code;
    int code;
    bool probe;
    int marker_only; /* -1: none; else the status of the exit marker to print */
};

/* What the probe has reported so far. */
struct probe_tally {
    unsigned ok;
    unsigned failed;
    long planned;      /* the script's announced number of checks; -1 before it */
    unsigned reported; /* checks the script reported */
    char first_failed[64];
    int stopped_by; /* the stop signal that cut the probe short, else 0 */
};

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
    va_list ap;
    fputs("STANDIN ", stdout);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    fputc('\n', stdout);
    fflush(stdout);
}

static int parse_long(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
        return -EINVAL;
    *out = v;
    return 0;
}

/* Matches "--name value" or "--name=value"; advances *i past a separate value. */
static int opt_value(int argc, char **argv, int *i, const char *name, const char **out)
{
    size_t n = strlen(name);
    const char *a = argv[*i];
    if (strncmp(a, name, n) != 0)
        return 0;
    if (a[n] == '=') {
        *out = a + n + 1;
        return 1;
    }
    if (a[n] != '\0')
        return 0;
    if (*i + 1 >= argc)
        return -EINVAL;
    *out = argv[++*i];
    return 1;
}

static int parse_args(int argc, char **argv, struct options *o)
{
    o->port = DEFAULT_PORT;
    o->addr = "0.0.0.0";
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        int r;
        if (strcmp(argv[i], "serve") == 0) {
            o->serve = true;
        } else if (strcmp(argv[i], "--containerd-only") == 0) {
            o->containerd_only = true;
        } else if (strcmp(argv[i], "--dind") == 0) {
            o->dind = true;
        } else if (strcmp(argv[i], "--dind-allow-privileged") == 0) {
            o->dind_allow_privileged = true;
        } else if ((r = opt_value(argc, argv, &i, "--config", &v)) != 0) {
            if (r < 0)
                return r;
            o->config = v;
        } else if ((r = opt_value(argc, argv, &i, "--data-dir", &v)) != 0) {
            if (r < 0)
                return r;
            o->data_dir = v;
        } else if ((r = opt_value(argc, argv, &i, "--containerd-tcp-addr", &v)) != 0) {
            if (r < 0)
                return r;
            o->addr = v;
        } else if ((r = opt_value(argc, argv, &i, "--containerd-tcp-port", &v)) != 0) {
            long p;
            if (r < 0 || parse_long(v, 1, 65534, &p) < 0) {
                say("error invalid --containerd-tcp-port");
                return -EINVAL;
            }
            o->port = (int)p;
        } else {
            say("unknown-arg %s", argv[i]);
        }
    }
    return 0;
}

static const char *type_name(mode_t m)
{
    if (S_ISREG(m))
        return "regular";
    if (S_ISLNK(m))
        return "symlink";
    if (S_ISDIR(m))
        return "directory";
    if (S_ISFIFO(m))
        return "fifo";
    return "other";
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
        s[--n] = '\0';
    return s;
}

/* The exit marker init prints when the daemon exits with `code` (common/markers.h's
 * MARKER_EXIT, with this boot's id from the kernel command line), printed while running. */
static void print_exit_marker(int code)
{
    char cmd[4096] = "", id[64] = "";
    FILE *f = fopen("/proc/cmdline", "re");
    if (f != NULL) {
        if (fgets(cmd, sizeof cmd, f) == NULL)
            cmd[0] = '\0';
        fclose(f);
    }
    const char *p = strstr(cmd, "ephemerd.boot_id=");
    if (p == NULL || sscanf(p + strlen("ephemerd.boot_id="), "%63[0-9a-f]", id) != 1)
        say("error no ephemerd.boot_id on the kernel command line");
    printf("EPHEMERD_EXIT status=%d boot_id=%s\n", code, id);
    fflush(stdout);
}

/* The tiny line scanner: [standin] exit_after_ms / exit_code (integers), probe (boolean). */
static void scan_behaviour(char *text, struct behaviour *b)
{
    bool in_standin = false;
    for (char *line = text, *next; line != NULL; line = next) {
        next = strchr(line, '\n');
        if (next != NULL)
            *next++ = '\0';
        char *hash = strchr(line, '#');
        if (hash != NULL)
            *hash = '\0';
        char *s = trim(line);
        if (*s == '[') {
            char *close = strchr(s, ']');
            if (close != NULL) {
                *close = '\0';
                in_standin = strcmp(trim(s + 1), "standin") == 0;
            }
            continue;
        }
        char *eq = strchr(s, '=');
        if (!in_standin || eq == NULL)
            continue;
        *eq = '\0';
        char *key = trim(s), *val = trim(eq + 1);
        long v;
        if (strcmp(key, "exit_after_ms") == 0) {
            if (parse_long(val, 0, 86400000L, &v) == 0) {
                b->have_after = true;
                b->after_ms = v;
            } else {
                say("config bad exit_after_ms=%s", val);
            }
        } else if (strcmp(key, "exit_marker_only") == 0) {
            if (parse_long(val, 0, 255, &v) == 0)
                b->marker_only = (int)v;
            else
                say("config bad exit_marker_only=%s", val);
        } else if (strcmp(key, "probe") == 0) {
            if (strcmp(val, "true") == 0 || strcmp(val, "false") == 0)
                b->probe = strcmp(val, "true") == 0;
            else
                say("config bad probe=%s", val);
        } else if (strcmp(key, "exit_code") == 0) {
            if (parse_long(val, 0, 255, &v) == 0) {
                b->have_code = true;
                b->code = (int)v;
            } else {
                say("config bad exit_code=%s", val);
            }
        }
    }
}

/* Reports the config file and reads the test behaviour from it. Never fails: what it
 * cannot read is reported. Opens without following symlinks and without blocking. */
static void report_config(const char *path, struct behaviour *b)
{
    struct stat st;
    say("config path=%s", path);
    if (lstat(path, &st) != 0) {
        say("config exists=no errno=%d (%s)", errno, strerror(errno));
        return;
    }
    say("config exists=yes");
    say("config type=%s", type_name(st.st_mode));
    say("config mode=%04o", (unsigned)(st.st_mode & 07777));
    say("config uid=%u", (unsigned)st.st_uid);
    say("config gid=%u", (unsigned)st.st_gid);
    say("config size=%lld", (long long)st.st_size);
    if (!S_ISREG(st.st_mode))
        return;

    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        say("config open-error errno=%d (%s)", errno, strerror(errno));
        return;
    }
    struct sha256_ctx ctx;
    sha256_init(&ctx);
    char *text = malloc(SCAN_MAX + 1);
    size_t kept = 0;
    uint8_t buf[65536];
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            say("config read-error errno=%d (%s)", errno, strerror(errno));
            close(fd);
            free(text);
            return;
        }
        if (n == 0)
            break;
        sha256_update(&ctx, (size_t)n, buf);
        if (text != NULL && kept < SCAN_MAX) {
            size_t take = (size_t)n < SCAN_MAX - kept ? (size_t)n : SCAN_MAX - kept;
            memcpy(text + kept, buf, take);
            kept += take;
        }
    }
    close(fd);
    uint8_t digest[SHA256_DIGEST_SIZE];
    char hex[2 * SHA256_DIGEST_SIZE + 1];
    sha256_digest(&ctx, sizeof digest, digest);
    for (size_t i = 0; i < sizeof digest; i++)
        snprintf(hex + 2 * i, 3, "%02x", digest[i]);
    say("config sha256=%s", hex);
    if (text == NULL) {
        say("config not scanned (out of memory)");
        return;
    }
    text[kept] = '\0';
    scan_behaviour(text, b);
    free(text);
}

static void probe_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void probe_say(const char *fmt, ...)
{
    va_list ap;
    fputs("PROBE ", stdout);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    fputc('\n', stdout);
    fflush(stdout);
}

static long ms_since(const struct timespec *t0)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (long)(now.tv_sec - t0->tv_sec) * 1000 + (now.tv_nsec - t0->tv_nsec) / 1000000;
}

/* Counts one check; name is the first name_len bytes of name. */
static void probe_count(struct probe_tally *t, bool ok, const char *name, size_t name_len)
{
    if (ok) {
        t->ok++;
        return;
    }
    if (t->failed++ == 0) {
        if (name_len >= sizeof t->first_failed)
            name_len = sizeof t->first_failed - 1;
        memcpy(t->first_failed, name, name_len);
        t->first_failed[name_len] = '\0';
    }
}

static void probe_fail(struct probe_tally *t, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void probe_fail(struct probe_tally *t, const char *name, const char *fmt, ...)
{
    va_list ap;
    printf("PROBE FAIL %s: ", name);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    fputc('\n', stdout);
    fflush(stdout);
    probe_count(t, false, name, strlen(name));
}

/* The hardware RNG the kernel feeds its pool from, for the getrandom report. */
static void probe_hwrng(char *out, size_t size)
{
    snprintf(out, size, "no hw_random device");
    FILE *f = fopen(PROBE_HWRNG, "re");
    if (f == NULL)
        return;
    if (fgets(out, (int)size, f) != NULL)
        out[strcspn(out, "\n")] = '\0';
    fclose(f);
}

/* The child of the getrandom check: a blocking getrandom(2), the bytes on fd; exit status 0,
 * or the errno. */
static void probe_getrandom_child(int fd)
{
    uint8_t buf[PROBE_RANDOM_BYTES];
    size_t got = 0;
    while (got < sizeof buf) {
        ssize_t n = getrandom(buf + got, sizeof buf - got, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            _exit(errno & 0xff);
        got += (size_t)n;
    }
    _exit(write(fd, buf, sizeof buf) == (ssize_t)sizeof buf ? 0 : EIO);
}

/* Waits up to deadline_ms (from t0) for fd to be readable, or for a stop signal on sfd (the
 * signalfd; -1: none): 1 readable, 2 a stop signal is pending, 0 timed out, <0 -errno. */
static int wait_readable(int fd, int sfd, const struct timespec *t0, long deadline_ms)
{
    for (;;) {
        long left = deadline_ms - ms_since(t0);
        if (left < 0)
            left = 0;
        struct pollfd pf[2] = {{.fd = fd, .events = POLLIN}, {.fd = sfd, .events = POLLIN}};
        int r = poll(pf, 2, (int)left);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -errno;
        if (pf[1].revents & POLLIN)
            return 2;
        return r > 0 ? 1 : 0;
    }
}

static void probe_getrandom(struct probe_tally *t)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0) {
        probe_fail(t, "getrandom", "pipe: %s", strerror(errno));
        return;
    }
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pid_t pid = fork();
    if (pid < 0) {
        probe_fail(t, "getrandom", "fork: %s", strerror(errno));
        close(p[0]);
        close(p[1]);
        return;
    }
    if (pid == 0)
        probe_getrandom_child(p[1]);
    close(p[1]);
    uint8_t buf[PROBE_RANDOM_BYTES];
    ssize_t n = -1;
    int r = wait_readable(p[0], -1, &t0, PROBE_RANDOM_DEADLINE_MS); /* bounded: 5 s */
    if (r > 0)
        n = read(p[0], buf, sizeof buf);
    long ms = ms_since(&t0);
    if (n != (ssize_t)sizeof buf)
        kill(pid, SIGKILL);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    close(p[0]);
    char hwrng[128];
    probe_hwrng(hwrng, sizeof hwrng);
    if (n == (ssize_t)sizeof buf) {
        probe_say("ok getrandom: %d bytes in %ld ms (hwrng: %s)", PROBE_RANDOM_BYTES, ms, hwrng);
        probe_count(t, true, "getrandom", 9);
    } else if (r == 0) {
        probe_fail(t, "getrandom",
                   "no %d bytes within %d ms: getrandom blocks, the kernel's random pool is not "
                   "initialized (hwrng: %s)",
                   PROBE_RANDOM_BYTES, PROBE_RANDOM_DEADLINE_MS, hwrng);
    } else {
        probe_fail(t, "getrandom", "the reading child failed (exit status %d: %s)",
                   WIFEXITED(status) ? WEXITSTATUS(status) : -1,
                   WIFEXITED(status) ? strerror(WEXITSTATUS(status)) : "killed");
    }
}

/* One line of the script's output: forwarded, and counted when it reports a check. */
static void probe_line(struct probe_tally *t, const char *line)
{
    long planned;
    if (strncmp(line, "PROBE plan ", 11) == 0 && parse_long(line + 11, 0, 1000, &planned) == 0) {
        t->planned = planned;
        probe_say("plan: %ld checks in %s", planned, PROBE_SCRIPT);
        return;
    }
    bool ok = strncmp(line, "PROBE ok ", 9) == 0;
    bool failed = strncmp(line, "PROBE FAIL ", 11) == 0;
    if (!ok && !failed) {
        probe_say("output %s", line);
        return;
    }
    const char *name = line + (ok ? 9 : 11);
    fputs(line, stdout);
    fputc('\n', stdout);
    fflush(stdout);
    t->reported++;
    probe_count(t, ok, name, strcspn(name, ": "));
}

/* The script's child side: stdout and stderr on the pipe, signals as a fresh process. */
static void probe_script_child(int fd)
{
    sigset_t none;
    sigemptyset(&none);
    if (setpgid(0, 0) != 0 || dup2(fd, STDOUT_FILENO) < 0 || dup2(fd, STDERR_FILENO) < 0 ||
        sigprocmask(SIG_SETMASK, &none, NULL) != 0 || signal(SIGPIPE, SIG_DFL) == SIG_ERR)
        _exit(126);
    execl(PROBE_SCRIPT, PROBE_SCRIPT, (char *)NULL);
    dprintf(STDOUT_FILENO, "exec %s: %s\n", PROBE_SCRIPT, strerror(errno));
    _exit(127);
}

/* Reads the script's lines until it closes its output, the deadline (-ETIMEDOUT) or a stop
 * signal on sfd (-EINTR; t->stopped_by says which). */
static int probe_read_lines(struct probe_tally *t, int fd, int sfd, const struct timespec *t0)
{
    char buf[PROBE_LINE_MAX + 1];
    size_t have = 0;
    for (;;) {
        int w = wait_readable(fd, sfd, t0, PROBE_SCRIPT_DEADLINE_MS);
        if (w == 0)
            return -ETIMEDOUT;
        if (w == 2) {
            struct signalfd_siginfo si;
            if (read(sfd, &si, sizeof si) == (ssize_t)sizeof si) {
                t->stopped_by = (int)si.ssi_signo;
                return -EINTR;
            }
        }
        ssize_t n = read(fd, buf + have, PROBE_LINE_MAX - have);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        have += (size_t)n;
        char *start = buf, *nl;
        while ((nl = memchr(start, '\n', have - (size_t)(start - buf))) != NULL) {
            *nl = '\0';
            probe_line(t, start);
            start = nl + 1;
        }
        have -= (size_t)(start - buf);
        memmove(buf, start, have);
        if (have == PROBE_LINE_MAX) { /* an overlong line: cut */
            buf[have] = '\0';
            probe_line(t, buf);
            have = 0;
        }
    }
    if (have > 0) {
        buf[have] = '\0';
        probe_line(t, buf);
    }
    return 0;
}

static void probe_script(struct probe_tally *t, int sfd)
{
    if (access(PROBE_SCRIPT, X_OK) != 0) {
        probe_fail(t, "probe-script", "%s: %s (not the workload rootfs?)", PROBE_SCRIPT,
                   strerror(errno));
        return;
    }
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0) {
        probe_fail(t, "probe-script", "pipe: %s", strerror(errno));
        return;
    }
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pid_t pid = fork();
    if (pid < 0) {
        probe_fail(t, "probe-script", "fork: %s", strerror(errno));
        close(p[0]);
        close(p[1]);
        return;
    }
    if (pid == 0)
        probe_script_child(p[1]);
    close(p[1]);
    int rc = probe_read_lines(t, p[0], sfd, &t0);
    close(p[0]);
    if (rc < 0)
        kill(-pid, SIGKILL); /* the script's process group: it and what it started */
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    long ms = ms_since(&t0);
    if (rc == -ETIMEDOUT)
        probe_fail(t, "probe-script", "still running after %d ms: killed after %u checks",
                   PROBE_SCRIPT_DEADLINE_MS, t->reported);
    else if (rc == -EINTR)
        probe_fail(t, "probe-script", "stopped by %s after %u checks: killed",
                   t->stopped_by == SIGTERM ? "SIGTERM" : "SIGINT", t->reported);
    else if (t->planned < 0 || t->reported < (unsigned long)t->planned)
        probe_fail(t, "probe-script", "reported %u of %ld checks, then exited (status %d)",
                   t->reported, t->planned, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    else
        probe_say("script done in %ld ms (exit status %d)", ms,
                  WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

/* Probe mode: the checks, then the summary line. A stop signal (on sfd, the signalfd) ends
 * the probe early: returns that signal, else 0. */
static int run_probe(int sfd)
{
    struct probe_tally t = {.planned = -1};
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    probe_getrandom(&t);
    probe_script(&t, sfd);
    if (t.failed == 0)
        probe_say("summary: %u checks, %u ok, 0 failed (%ld ms)", t.ok, t.ok, ms_since(&t0));
    else
        probe_say("summary: %u checks, %u ok, %u failed; first failed: %s (%ld ms)",
                  t.ok + t.failed, t.ok, t.failed, t.first_failed, ms_since(&t0));
    return t.stopped_by;
}

static int listen_on(const char *addr, int port, int *out)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1) {
        say("error invalid --containerd-tcp-addr %s", addr);
        return -EINVAL;
    }
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        int e = errno;
        say("error socket: %s", strerror(e));
        return -e;
    }
    int one = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(fd, 16) != 0) {
        int e = errno;
        say("error listen %s:%d: %s", addr, port, strerror(e));
        close(fd);
        return -e;
    }
    say("listening addr=%s port=%d", addr, port);
    *out = fd;
    return 0;
}

static void serve_one(int lfd, int port, unsigned *count)
{
    for (;;) {
        int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        if (c < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNABORTED)
                say("accept port=%d: %s", port, strerror(errno));
            return;
        }
        if (*count < LOG_CONNECTIONS)
            say("connection port=%d", port);
        else if (*count == LOG_CONNECTIONS)
            say("connection port=%d (further connections on this port not logged)", port);
        (*count)++;
        char greet[64];
        int n = snprintf(greet, sizeof greet, "ephemerd-standin %d\n", port);
        if (write(c, greet, (size_t)n) != n && *count <= LOG_CONNECTIONS)
            say("greeting port=%d not fully written", port);
        close(c);
    }
}

static int arm_timer(long ms, int *out)
{
    int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        say("error timerfd_create: %s", strerror(e));
        return -e;
    }
    /* it_value zero would disarm the timer: use 1 ns for "now". */
    struct itimerspec its = {.it_value = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L}};
    if (ms == 0)
        its.it_value.tv_nsec = 1;
    if (timerfd_settime(fd, 0, &its, NULL) != 0) {
        int e = errno;
        say("error timerfd_settime: %s", strerror(e));
        close(fd);
        return -e;
    }
    *out = fd;
    return 0;
}

int main(int argc, char **argv)
{
    /* First line: when the daemon started, on the kernel's clock (the boot bench compares it
     * with the kernel's "Run /init" timestamp). */
    struct timespec boot_ts;
    if (clock_gettime(CLOCK_BOOTTIME, &boot_ts) == 0)
        say("boottime_ms=%lld", (long long)boot_ts.tv_sec * 1000 + boot_ts.tv_nsec / 1000000);

    setvbuf(stdout, NULL, _IOLBF, 0);
    if (signal(SIGPIPE, SIG_IGN) == SIG_ERR) {
        say("error signal(SIGPIPE): %s", strerror(errno));
        return 2;
    }

    /* Block the stop signals first, so none is lost before the loop reads them. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    if (sigprocmask(SIG_BLOCK, &stop, NULL) != 0) {
        say("error sigprocmask: %s", strerror(errno));
        return 2;
    }
    int sfd = signalfd(-1, &stop, SFD_CLOEXEC);
    if (sfd < 0) {
        say("error signalfd: %s", strerror(errno));
        return 2;
    }

    size_t len = 0;
    for (int i = 0; i < argc; i++)
        len += strlen(argv[i]) + 1;
    char *joined = calloc(len + 1, 1);
    if (joined == NULL) {
        say("error out of memory");
        return 2;
    }
    for (int i = 0; i < argc; i++) {
        if (i > 0)
            strcat(joined, " ");
        strcat(joined, argv[i]);
    }
    say("argv=%s", joined);
    free(joined);
    const char *path = getenv("PATH"), *home = getenv("HOME");
    say("env PATH=%s HOME=%s", path ? path : "<unset>", home ? home : "<unset>");
    for (char **e = environ; e != NULL && *e != NULL; e++)
        say("environ %s", *e);
    say("ids pid=%d uid=%u gid=%u", (int)getpid(), (unsigned)getuid(), (unsigned)getgid());

    struct options o = {0};
    if (parse_args(argc, argv, &o) < 0) {
        say("error bad arguments");
        return 2;
    }
    say("flags serve=%d data_dir=%s containerd_only=%d dind=%d dind_allow_privileged=%d", o.serve,
        o.data_dir ? o.data_dir : "<unset>", o.containerd_only, o.dind, o.dind_allow_privileged);

    struct behaviour b = {.marker_only = -1};
    if (o.config == NULL)
        say("config=none");
    else
        report_config(o.config, &b);
    if (b.have_after || b.have_code)
        say("standin exit_after_ms=%ld exit_code=%d", b.after_ms, b.have_code ? b.code : 0);
    if (b.marker_only >= 0)
        say("standin exit_marker_only=%d", b.marker_only);
    if (b.probe) {
        say("standin probe=1");
        int sig = run_probe(sfd);
        if (sig != 0) {
            say("exiting on %s", sig == SIGTERM ? "SIGTERM" : "SIGINT");
            return 0;
        }
    }

    int lfd[2] = {-1, -1};
    int ports[2] = {o.port, o.port + 1};
    for (int i = 0; i < 2; i++)
        if (listen_on(o.addr, ports[i], &lfd[i]) < 0)
            return 2;
    int tfd = -1;
    if ((b.have_after || b.have_code) && arm_timer(b.after_ms, &tfd) < 0)
        return 2;
    say("ready");
    if (b.marker_only >= 0)
        print_exit_marker(b.marker_only);

    unsigned counts[2] = {0, 0};
    struct pollfd pf[4] = {
        {.fd = lfd[0], .events = POLLIN},
        {.fd = lfd[1], .events = POLLIN},
        {.fd = sfd, .events = POLLIN},
        {.fd = tfd, .events = POLLIN}, /* poll ignores a negative fd */
    };
    for (;;) {
        if (poll(pf, 4, -1) < 0) {
            if (errno == EINTR)
                continue;
            say("error poll: %s", strerror(errno));
            return 2;
        }
        for (int i = 0; i < 2; i++)
            if (pf[i].revents & POLLIN)
                serve_one(lfd[i], ports[i], &counts[i]);
        if (pf[2].revents & POLLIN) {
            struct signalfd_siginfo si;
            if (read(sfd, &si, sizeof si) == (ssize_t)sizeof si) {
                say("exiting on %s", si.ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT");
                return 0;
            }
        }
        if (pf[3].revents & POLLIN) {
            int code = b.have_code ? b.code : 0;
            say("exiting with code %d", code);
            return code;
        }
    }
}
