/* testutil_win.c — temp directories on Windows (and under wine): a fresh directory under
 * GetTempPath with forward slashes, removed recursively. */
#include "testutil.h"

#include <windows.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

char *tu_tmpdir(void)
{
    char base[MAX_PATH + 1];
    DWORD n = GetTempPathA(sizeof(base), base);
    if (n == 0 || n > MAX_PATH)
        fail_msg("GetTempPathA failed");
    while (n > 0 && (base[n - 1] == '\\' || base[n - 1] == '/'))
        base[--n] = '\0'; /* tu_path adds the separator */
    for (unsigned i = 0; i < 1000; i++) {
        char name[64];
        snprintf(name, sizeof(name), "evm-test-%lu-%u", (unsigned long)GetCurrentProcessId(),
                 (unsigned)(GetTickCount() + i));
        char *p = tu_path(base, name);
        for (char *c = p; *c; c++)
            if (*c == '\\')
                *c = '/';
        if (CreateDirectoryA(p, NULL))
            return p;
        free(p);
    }
    fail_msg("cannot create a temp directory");
    return NULL;
}

void tu_rmrf(const char *path)
{
    char pattern[MAX_PATH * 2];
    snprintf(pattern, sizeof(pattern), "%s/*", path);
    WIN32_FIND_DATAA fd;
    HANDLE h = FindFirstFileA(pattern, &fd);
    if (h != INVALID_HANDLE_VALUE) {
        do {
            if (strcmp(fd.cFileName, ".") == 0 || strcmp(fd.cFileName, "..") == 0)
                continue;
            char *child = tu_path(path, fd.cFileName);
            if (fd.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY)
                tu_rmrf(child);
            else {
                SetFileAttributesA(child, FILE_ATTRIBUTE_NORMAL);
                DeleteFileA(child);
            }
            free(child);
        } while (FindNextFileA(h, &fd));
        FindClose(h);
    }
    RemoveDirectoryA(path);
}

int tu_setenv(const char *name, const char *value)
{
    /* An empty value removes the variable on Windows. */
    return _putenv_s(name, value ? value : "") == 0 ? 0 : -1;
}
