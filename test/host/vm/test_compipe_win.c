/* test_compipe_win.c — COM1's pipe server (compipe_win.h) under wine, with a
 * client thread standing in for the Hyper-V worker: the server exists before
 * the client comes, lines arrive CR-stripped as with QEMU and every byte
 * reaches the console log, writes reach the client, the end of the client is
 * the end of the console (last partial line delivered), only one client and one
 * server of a name exist, and writing before a client is -EPIPE. */
#include <windows.h>

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <uv.h>

#include "testutil.h"
#include "vm/compipe_win.h"

struct fx {
    uv_loop_t loop;
    struct compipe *cp;
    char name[COMPIPE_NAME_MAX];
    char *dir, *log;
    char lines[8][64];
    int nlines, eofs;
    /* the client thread's findings */
    char got[128];
    DWORD second_client_error;
};

static void on_line(void *ctx, const char *line)
{
    struct fx *f = ctx;
    assert_true(f->nlines < 8);
    snprintf(f->lines[f->nlines++], sizeof(f->lines[0]), "%s", line);
    if (strcmp(line, "world") == 0) {
        struct evm_err err = {0};
        assert_int_equal(compipe_write(f->cp, "STOP boot_id=1\n", 15, &err), 0);
    }
}

static void on_eof(void *ctx)
{
    struct fx *f = ctx;
    f->eofs++;
    compipe_close(f->cp);
    f->cp = NULL;
}

static void client_write(HANDLE h, const char *s)
{
    DWORD w = 0;
    assert_true(WriteFile(h, s, (DWORD)strlen(s), &w, NULL));
    assert_int_equal(w, strlen(s));
}

/* The worker: connects, writes two lines, reads what the agent writes back,
 * tries a second connection, writes an unterminated line and goes away. */
static DWORD WINAPI client(void *arg)
{
    struct fx *f = arg;
    wchar_t w[COMPIPE_NAME_MAX];
    MultiByteToWideChar(CP_UTF8, 0, f->name, -1, w, COMPIPE_NAME_MAX);
    HANDLE h = CreateFileW(w, GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_EXISTING, 0, NULL);
    if (h == INVALID_HANDLE_VALUE)
        return GetLastError();
    client_write(h, "hello\r\nworld\n");
    DWORD n = 0;
    if (!ReadFile(h, f->got, sizeof(f->got) - 1, &n, NULL))
        return GetLastError();
    f->got[n] = '\0';
    HANDLE second = CreateFileW(w, GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_EXISTING, 0, NULL);
    f->second_client_error = second == INVALID_HANDLE_VALUE ? GetLastError() : 0;
    if (second != INVALID_HANDLE_VALUE)
        CloseHandle(second);
    client_write(h, "partial");
    CloseHandle(h);
    return 0;
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    uv_loop_init(&f->loop);
    f->dir = tu_tmpdir();
    f->log = tu_path(f->dir, "console.log");
    char id[64];
    snprintf(id, sizeof(id), "test-%lu-%lu", (unsigned long)GetCurrentProcessId(),
             (unsigned long)GetTickCount());
    struct evm_err err = {0};
    assert_int_equal(compipe_name(id, f->name, sizeof(f->name), &err), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    compipe_close(f->cp);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&f->loop), 0);
    tu_rmrf(f->dir);
    free(f->dir);
    free(f->log);
    free(f);
    return 0;
}

static void test_session(void **state)
{
    struct fx *f = *state;
    struct compipe_events ev = {on_line, on_eof, f};
    struct evm_err err = {0};
    assert_int_equal(compipe_open(&f->loop, f->name, f->log, &ev, &f->cp, &err), 0);
    assert_true(compipe_drained(f->cp)); /* nobody connected yet */
    HANDLE t = CreateThread(NULL, 0, client, f, 0, NULL);
    assert_non_null(t);
    uv_run(&f->loop, UV_RUN_DEFAULT); /* until the client has gone and the pipe is closed */
    assert_int_equal(WaitForSingleObject(t, 10000), WAIT_OBJECT_0);
    DWORD rc = 1;
    GetExitCodeThread(t, &rc);
    CloseHandle(t);
    assert_int_equal(rc, 0);

    assert_int_equal(f->nlines, 3);
    assert_string_equal(f->lines[0], "hello");
    assert_string_equal(f->lines[1], "world");
    assert_string_equal(f->lines[2], "partial");
    assert_int_equal(f->eofs, 1);
    assert_string_equal(f->got, "STOP boot_id=1\n");
    assert_int_equal(f->second_client_error, ERROR_PIPE_BUSY);
    size_t len = 0;
    char *log = tu_read(f->log, &len);
    assert_non_null(log);
    assert_string_equal(log, "hello\r\nworld\npartial");
    free(log);
}

static void test_write_before_connect_is_epipe(void **state)
{
    struct fx *f = *state;
    struct compipe_events ev = {on_line, on_eof, f};
    struct evm_err err = {0};
    assert_int_equal(compipe_open(&f->loop, f->name, f->log, &ev, &f->cp, &err), 0);
    assert_int_equal(compipe_write(f->cp, "x\n", 2, &err), -EPIPE);
    assert_non_null(strstr(err.msg, "not connected"));
}

static void test_one_server_per_name(void **state)
{
    struct fx *f = *state;
    struct compipe_events ev = {on_line, on_eof, f};
    struct compipe *other = NULL;
    struct evm_err err = {0};
    assert_int_equal(compipe_open(&f->loop, f->name, f->log, &ev, &f->cp, &err), 0);
    assert_int_not_equal(compipe_open(&f->loop, f->name, f->log, &ev, &other, &err), 0);
    assert_null(other);
    assert_non_null(strstr(err.msg, "creating the console pipe"));
}

static void test_missing_log_dir_fails(void **state)
{
    struct fx *f = *state;
    struct compipe_events ev = {on_line, on_eof, f};
    struct evm_err err = {0};
    char *bad = tu_path(f->dir, "no/such/dir/console.log");
    assert_true(compipe_open(&f->loop, f->name, bad, &ev, &f->cp, &err) < 0);
    assert_null(f->cp);
    assert_non_null(strstr(err.msg, "console log"));
    free(bad);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_session, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_before_connect_is_epipe, setup, teardown),
        cmocka_unit_test_setup_teardown(test_one_server_per_name, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_log_dir_fails, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
