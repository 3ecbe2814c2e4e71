/* datadir_win.c — the data directory's default and separator on Windows (see datadir.h):
 * %ProgramData%\ephemerd (the known folder FOLDERID_ProgramData, else the ProgramData
 * variable), paths joined with '\'. */
#include "agent/datadir.h"

#include <errno.h>
#include <shlobj.h>
#include <stdio.h>
#include <stdlib.h>
#include <windows.h>

#define DATADIR_NAME "ephemerd"

/* FOLDERID_ProgramData (knownfolders.h), spelled out: mingw's lives in libuuid. */
static const KNOWNFOLDERID program_data_id = {
    0x62ab5d82, 0xfdc1, 0x4dc3, {0xa9, 0xdd, 0x07, 0x0d, 0x1d, 0x49, 0x5d, 0x97}};

/* The ProgramData folder as UTF-8 into out; -ENOENT when the system does not say. */
static int program_data(char *out, size_t size)
{
    PWSTR w = NULL;
    int r = -ENOENT;
    if (SHGetKnownFolderPath(&program_data_id, 0, NULL, &w) == S_OK) {
        int n =
            WideCharToMultiByte(CP_UTF8, WC_ERR_INVALID_CHARS, w, -1, out, (int)size, NULL, NULL);
        r = n > 0 ? 0 : -ENAMETOOLONG;
    }
    CoTaskMemFree(w);
    if (r == 0)
        return 0;
    const char *env = getenv("ProgramData");
    if (!env || !env[0])
        return -ENOENT;
    int n = snprintf(out, size, "%s", env);
    return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

int datadir_default(char *out, size_t size, struct evm_err *err)
{
    char base[DATADIR_PATH_MAX];
    int r = program_data(base, sizeof(base));
    if (r == -ENOENT)
        return evm_errf(err, ENOENT,
                        "default data directory: the ProgramData folder is unknown; pass "
                        "--data-dir");
    if (r < 0 || datadir_join(out, size, base, DATADIR_NAME) < 0)
        return evm_errf(err, ENAMETOOLONG, "default data directory: path too long");
    return 0;
}

char datadir_separator(void)
{
    return '\\';
}
