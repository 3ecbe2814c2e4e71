/* test_version.c — what `--version` prints on both binaries (common/version.h): the program
 * and version, the commit, and the compiler with the target this test was built for. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "version.h"

/* The lines evm_version_print writes for "prog", read back through a temporary file. */
static void print_lines(char lines[3][256])
{
    FILE *f = tmpfile();
    assert_non_null(f);
    evm_version_print(f, "prog");
    rewind(f);
    for (int i = 0; i < 3; i++) {
        assert_non_null(fgets(lines[i], 256, f));
        lines[i][strcspn(lines[i], "\n")] = '\0';
    }
    char extra[16];
    assert_null(fgets(extra, sizeof(extra), f)); /* exactly three lines */
    fclose(f);
}

static void test_version_line(void **state)
{
    (void)state;
    char lines[3][256], want[256];
    print_lines(lines);
    assert_true(EVM_VERSION[0] != '\0');
    snprintf(want, sizeof(want), "prog %s", EVM_VERSION);
    assert_string_equal(lines[0], want);
}

static void test_commit_line(void **state)
{
    (void)state;
    char lines[3][256], want[256];
    print_lines(lines);
    assert_true(EVM_COMMIT[0] != '\0'); /* a commit, or "unknown" without git */
    snprintf(want, sizeof(want), "commit %s", EVM_COMMIT);
    assert_string_equal(lines[1], want);
}

static void test_compiler_line_names_compiler_and_target(void **state)
{
    (void)state;
    char lines[3][256];
    print_lines(lines);
    assert_true(strncmp(lines[2], "compiler gcc ", 13) == 0 ||
                strncmp(lines[2], "compiler clang ", 15) == 0);
#if defined(_WIN32)
    const char *target = "(x86_64-w64-mingw32)";
#elif defined(__GLIBC__)
    const char *target = "(x86_64-linux-gnu)";
#else
    const char *target = "(x86_64-linux-musl)";
#endif
    size_t n = strlen(lines[2]), t = strlen(target);
    assert_true(n > t);
    assert_string_equal(lines[2] + n - t, target);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_version_line),
        cmocka_unit_test(test_commit_line),
        cmocka_unit_test(test_compiler_line_names_compiler_and_target),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
