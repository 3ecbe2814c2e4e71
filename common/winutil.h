/* winutil.h — small Windows helpers shared by the *_win.c platform files: UTF-8 paths to
 * wide strings, file attributes of a UTF-8 path, Win32 error codes to errno values and
 * messages. Windows only. */
#ifndef EVM_WINUTIL_H
#define EVM_WINUTIL_H

#include <stddef.h>
#include <wchar.h>

/* A malloc'd wide copy of a UTF-8 string; NULL with *e = EINVAL (not valid UTF-8) or
 * ENOMEM. */
wchar_t *win_wide(const char *utf8, int *e);

/* GetFileAttributesW of a UTF-8 path (a final symlink is not followed): 0 with *attrs set,
 * and *code the Win32 error when *attrs is INVALID_FILE_ATTRIBUTES (else 0); or a negative
 * errno (win_wide's) when path cannot be converted. */
int win_path_attributes(const char *path, unsigned long *attrs, unsigned long *code);

/* The errno value closest to a Win32 error code (EIO when there is none). */
int win_errno(unsigned long code);

/* The system's text for a Win32 error code, without a trailing period or line end. */
const char *win_strerror(unsigned long code, char *buf, size_t n);

#endif
