/* test_stopreq.c — the console's stop request without a daemon: the line splitting and the
 * decision on bytes fed directly and read from a pipe (end of input, read errors), and the
 * terminal settings on a pseudo-terminal. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "stopreq.h"

#define BOOT_ID "0123456789abcdef0123456789abcdef"
#define OTHER_ID "fedcba9876543210fedcba9876543210"
#define REQUEST "EPHEMERD_STOP boot_id=" BOOT_ID "\n"

static void open_req(struct stopreq *r, int fd, const char *boot_id)
{
    struct evm_err err = {0};
    assert_int_equal(stopreq_init(r, fd, boot_id, &err), 0);
}

static unsigned feed(struct stopreq *r, const char *text)
{
    return stopreq_feed(r, text, strlen(text));
}

static void test_request_for_this_boot(void **state)
{
    (void)state;
    struct stopreq r;
    open_req(&r, -1, BOOT_ID);
    assert_int_equal(stopreq_fd(&r), -1);
    assert_int_equal(feed(&r, REQUEST), 1);
    assert_int_equal(feed(&r, "  EPHEMERD_STOP boot_id=" BOOT_ID " \r\n"), 1);
    assert_int_equal(feed(&r, REQUEST REQUEST), 2);
    stopreq_free(&r);
}

static void test_other_lines_are_not_requests(void **state)
{
    (void)state;
    struct stopreq r;
    open_req(&r, -1, BOOT_ID);
    assert_int_equal(feed(&r, "EPHEMERD_STOP boot_id=" OTHER_ID "\n"), 0);
    assert_int_equal(feed(&r, "EPHEMERD_STOP\n"), 0);
    assert_int_equal(feed(&r, "EPHEMERD_STOP boot_id=" BOOT_ID "0\n"), 0);
    assert_int_equal(feed(&r, "EPHEMERD_STOP boot_id=0123456789ABCDEF0123456789ABCDEF\n"), 0);
    assert_int_equal(feed(&r, "say EPHEMERD_STOP boot_id=" BOOT_ID "\n"), 0);
    assert_int_equal(feed(&r, "EPHEMERD_STOPPED boot_id=" BOOT_ID "\n"), 0);
    assert_int_equal(feed(&r, "\n\n\x01\x7f\n"), 0);
    /* An unterminated request is not (yet) a line. */
    assert_int_equal(feed(&r, "EPHEMERD_STOP boot_id=" BOOT_ID), 0);
    assert_int_equal(feed(&r, "\n"), 1);
    stopreq_free(&r);
}

static void test_split_request(void **state)
{
    (void)state;
    struct stopreq r;
    open_req(&r, -1, BOOT_ID);
    assert_int_equal(feed(&r, "EPHEMERD_ST"), 0);
    assert_int_equal(feed(&r, "OP boot_id=0123456789abcdef"), 0);
    assert_int_equal(feed(&r, "0123456789abcdef\nEPHEMERD_STOP boot"), 1);
    assert_int_equal(feed(&r, "_id=" BOOT_ID "\n"), 1);
    stopreq_free(&r);
}

/* An overlong line counts for nothing, even when all the bound keeps of it is a request;
 * the line after it is read normally. */
static void test_overlong_line_discarded(void **state)
{
    (void)state;
    struct stopreq r;
    open_req(&r, -1, BOOT_ID);
    char text[2048] = "EPHEMERD_STOP boot_id=" BOOT_ID;
    size_t len = strlen(text);
    memset(text + len, ' ', STOPREQ_MAX_LINE);
    text[len + STOPREQ_MAX_LINE] = '\0';
    assert_int_equal(feed(&r, text), 0);
    assert_int_equal(feed(&r, "x"), 0);
    assert_int_equal(feed(&r, "\n" REQUEST), 1);
    /* Exactly the bound is still a line. */
    memset(text, ' ', sizeof(text));
    memcpy(text + STOPREQ_MAX_LINE - (sizeof(REQUEST) - 2), REQUEST, sizeof(REQUEST));
    assert_int_equal(strlen(text), STOPREQ_MAX_LINE + 1);
    assert_int_equal(feed(&r, text), 1);
    stopreq_free(&r);
}

/* Without a boot id of its own, no request matches. */
static void test_no_boot_id_matches_nothing(void **state)
{
    (void)state;
    struct stopreq r;
    open_req(&r, -1, NULL);
    assert_int_equal(feed(&r, REQUEST), 0);
    assert_int_equal(feed(&r, "EPHEMERD_STOP\n"), 0);
    assert_int_equal(feed(&r, "EPHEMERD_STOP boot_id=\n"), 0);
    stopreq_free(&r);
    open_req(&r, -1, "");
    assert_int_equal(feed(&r, REQUEST), 0);
    stopreq_free(&r);
}

static void write_str(int fd, const char *s)
{
    assert_int_equal(write(fd, s, strlen(s)), (ssize_t)strlen(s));
}

/* From a pipe: one read per call; at EOF the last unterminated line is still decided, then
 * the listening ends. */
static void test_read_until_eof(void **state)
{
    (void)state;
    int p[2];
    assert_int_equal(pipe2(p, O_CLOEXEC), 0);
    struct stopreq r;
    open_req(&r, p[0], BOOT_ID);
    assert_int_equal(stopreq_fd(&r), p[0]);
    write_str(p[1], "hello\n" REQUEST "EPHEMERD_STOP boot_id=" BOOT_ID);
    assert_int_equal(stopreq_read(&r), 1);
    assert_int_equal(stopreq_fd(&r), p[0]);
    close(p[1]);
    assert_int_equal(stopreq_read(&r), 1);
    assert_int_equal(stopreq_fd(&r), -1);
    assert_int_equal(stopreq_read(&r), 0);
    stopreq_free(&r);
    close(p[0]);
}

/* A read error (here: a closed fd) ends the listening too. */
static void test_read_error_stops_listening(void **state)
{
    (void)state;
    int p[2];
    assert_int_equal(pipe2(p, O_CLOEXEC), 0);
    close(p[0]);
    close(p[1]);
    struct stopreq r;
    open_req(&r, p[0], BOOT_ID);
    assert_int_equal(stopreq_read(&r), 0);
    assert_int_equal(stopreq_fd(&r), -1);
    stopreq_free(&r);
}

static void test_console_setup_not_a_tty(void **state)
{
    (void)state;
    int p[2];
    assert_int_equal(pipe2(p, O_CLOEXEC), 0);
    struct evm_err err = {0};
    assert_int_equal(stopreq_console_setup(p[0], &err), 0);
    close(p[0]);
    close(p[1]);
}

/* On a terminal: line mode, no echo, no EOF character; a request written on the other side
 * arrives as one line and nothing comes back. */
static void test_console_setup_on_a_pty(void **state)
{
    (void)state;
    int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (master < 0) {
        fprintf(stderr, "posix_openpt: %s: skipped\n", strerror(errno));
        skip();
        return;
    }
    assert_int_equal(grantpt(master), 0);
    assert_int_equal(unlockpt(master), 0);
    int slave = open(ptsname(master), O_RDWR | O_NOCTTY | O_CLOEXEC);
    assert_true(slave >= 0);
    struct termios t;
    assert_int_equal(tcgetattr(slave, &t), 0);
    t.c_lflag &= ~(tcflag_t)ICANON;
    t.c_lflag |= ECHO;
    assert_int_equal(tcsetattr(slave, TCSANOW, &t), 0);

    struct evm_err err = {0};
    assert_int_equal(stopreq_console_setup(slave, &err), 1);
    assert_int_equal(tcgetattr(slave, &t), 0);
    assert_true(t.c_lflag & ICANON);
    assert_false(t.c_lflag & ECHO);
    assert_false(t.c_lflag & ECHONL);
    assert_int_equal(t.c_cc[VEOF], _POSIX_VDISABLE);

    struct stopreq r;
    open_req(&r, slave, BOOT_ID);
    write_str(master, "\x04\n" REQUEST);
    assert_int_equal(stopreq_read(&r), 0); /* the ^D line: not an end of input */
    assert_int_equal(stopreq_fd(&r), slave);
    assert_int_equal(stopreq_read(&r), 1);
    assert_int_equal(stopreq_fd(&r), slave);
    stopreq_free(&r);
    /* Nothing was echoed back to the writer. */
    int fl = fcntl(master, F_GETFL);
    assert_int_equal(fcntl(master, F_SETFL, fl | O_NONBLOCK), 0);
    char buf[64];
    errno = 0;
    assert_int_equal(read(master, buf, sizeof(buf)), -1);
    assert_int_equal(errno, EAGAIN);
    close(slave);
    close(master);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_for_this_boot),
        cmocka_unit_test(test_other_lines_are_not_requests),
        cmocka_unit_test(test_split_request),
        cmocka_unit_test(test_overlong_line_discarded),
        cmocka_unit_test(test_no_boot_id_matches_nothing),
        cmocka_unit_test(test_read_until_eof),
        cmocka_unit_test(test_read_error_stops_listening),
        cmocka_unit_test(test_console_setup_not_a_tty),
        cmocka_unit_test(test_console_setup_on_a_pty),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
