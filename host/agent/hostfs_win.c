/* hostfs_win.c — hostfs.h on Windows: the path's DACL (any allow ACE for a SID other than
 * the owner, SYSTEM, Administrators or the Hyper-V VM group makes it not private: Everyone,
 * Users and Authenticated Users are named) and GetDiskFreeSpaceExW. */
#include "agent/hostfs.h"

#include <aclapi.h>
#include <errno.h>
#include <sddl.h>
#include <stdio.h>
#include <stdlib.h>
#include <windows.h>

#include "winutil.h"

static bool sid_is(PSID sid, WELL_KNOWN_SID_TYPE type)
{
    return IsWellKnownSid(sid, type) != 0;
}

/* SIDs that may hold access to the data dir: its owner, SYSTEM, Administrators, and the
 * Hyper-V virtual machines' group S-1-5-83-0 (HcsGrantVmAccess adds per-VM SIDs S-1-5-83-…). */
static bool sid_allowed(PSID sid, PSID owner)
{
    if ((owner && EqualSid(sid, owner)) || sid_is(sid, WinLocalSystemSid) ||
        sid_is(sid, WinBuiltinAdministratorsSid) || sid_is(sid, WinCreatorOwnerSid))
        return true;
    SID_IDENTIFIER_AUTHORITY *auth = GetSidIdentifierAuthority(sid);
    static const SID_IDENTIFIER_AUTHORITY nt = SECURITY_NT_AUTHORITY;
    return memcmp(auth, &nt, sizeof(nt)) == 0 && *GetSidSubAuthorityCount(sid) >= 1 &&
           *GetSidSubAuthority(sid, 0) == 83;
}

static void sid_name(PSID sid, char *buf, size_t n)
{
    char name[128], domain[128];
    DWORD nl = sizeof(name), dl = sizeof(domain);
    SID_NAME_USE use;
    if (LookupAccountSidA(NULL, sid, name, &nl, domain, &dl, &use)) {
        snprintf(buf, n, "%s", name);
        return;
    }
    LPSTR s = NULL;
    if (ConvertSidToStringSidA(sid, &s)) {
        snprintf(buf, n, "%s", s);
        LocalFree(s);
        return;
    }
    snprintf(buf, n, "an unknown account");
}

int hostfs_private(const char *path, bool *private, char *who, size_t who_size, struct evm_err *err)
{
    int e = 0;
    wchar_t *w = win_wide(path, &e);
    if (!w)
        return evm_errf(err, e, "%s: invalid path", path);
    PSID owner = NULL;
    PACL dacl = NULL;
    PSECURITY_DESCRIPTOR sd = NULL;
    DWORD rc = GetNamedSecurityInfoW(w, SE_FILE_OBJECT,
                                     OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION, &owner,
                                     NULL, &dacl, NULL, &sd);
    free(w);
    if (rc != ERROR_SUCCESS) {
        char msg[256];
        return evm_errf(err, win_errno(rc), "%s: reading its ACL: %s", path,
                        win_strerror(rc, msg, sizeof(msg)));
    }
    *private = true;
    snprintf(who, who_size, "only its owner, SYSTEM and Administrators");
    if (!dacl) {
        *private = false;
        snprintf(who, who_size, "no DACL: everyone has full access");
    }
    for (DWORD i = 0; dacl && *private && i < dacl->AceCount; i++) {
        ACE_HEADER *h;
        if (!GetAce(dacl, i, (void **)&h) || h->AceType != ACCESS_ALLOWED_ACE_TYPE)
            continue;
        ACCESS_ALLOWED_ACE *ace = (ACCESS_ALLOWED_ACE *)h;
        PSID sid = (PSID)&ace->SidStart;
        if (sid_allowed(sid, owner))
            continue;
        char name[160];
        sid_name(sid, name, sizeof(name));
        *private = false;
        snprintf(who, who_size, "%s is granted access (mask 0x%lx)", name,
                 (unsigned long)ace->Mask);
    }
    LocalFree(sd);
    return 0;
}

int hostfs_free_bytes(const char *path, uint64_t *bytes, struct evm_err *err)
{
    int e = 0;
    wchar_t *w = win_wide(path, &e);
    if (!w)
        return evm_errf(err, e, "%s: invalid path", path);
    ULARGE_INTEGER avail;
    BOOL ok = GetDiskFreeSpaceExW(w, &avail, NULL, NULL);
    free(w);
    if (!ok) {
        char msg[256];
        DWORD rc = GetLastError();
        return evm_errf(err, win_errno(rc), "%s: %s", path, win_strerror(rc, msg, sizeof(msg)));
    }
    *bytes = avail.QuadPart;
    return 0;
}

const char *hostfs_private_fix(void)
{
    return "icacls PATH /inheritance:r /grant:r SYSTEM:(OI)(CI)F Administrators:(OI)(CI)F "
           "(only the agent may read the host config's secrets)";
}
