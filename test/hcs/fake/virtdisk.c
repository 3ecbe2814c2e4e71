/* virtdisk.c — the simulated virtdisk.dll (TEST ONLY, never shipped; README.md): the calls
 * the backend makes for its root disk, with the real names and prototypes (mingw's
 * virtdisk.h) and the SDK's layout of CREATE_VIRTUAL_DISK_PARAMETERS version 2 (mingw's is
 * 8 bytes short). Disks are real dynamic VHDX files made and grown by qemu-img, run on the
 * Linux side of wine (QEMU cannot resize a VHDX, so a grow copies the data into a new,
 * larger VHDX and back over the same file, keeping its identity and so its grants). Sizes
 * are read from the VHDX metadata. Functions return Win32 error codes, as virtdisk does.
 * Wine ships a virtdisk.dll whose CreateVirtualDisk aborts: load this one with
 * WINEDLLOVERRIDES=virtdisk=n. Every call appends a line to calls.log. */
#include "fakeproto.h"

#include <virtdisk.h>

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define QEMU_IMG_TIMEOUT_MS 300000
#define FAKE_ERROR_VIRTDISK_NOT_VIRTUAL_DISK 0xC03A0015UL

/* CREATE_VIRTUAL_DISK_PARAMETERS as the Windows SDK lays it out for versions 1 and 2. */
struct sdk_create_params {
    CREATE_VIRTUAL_DISK_VERSION Version;
    union {
        struct {
            GUID UniqueId;
            ULONGLONG MaximumSize;
            ULONG BlockSizeInBytes;
            ULONG SectorSizeInBytes;
            PCWSTR ParentPath;
            PCWSTR SourcePath;
        } Version1;
        struct {
            GUID UniqueId;
            ULONGLONG MaximumSize;
            ULONG BlockSizeInBytes;
            ULONG SectorSizeInBytes;
            ULONG PhysicalSectorSizeInBytes;
            PCWSTR ParentPath;
            PCWSTR SourcePath;
            OPEN_VIRTUAL_DISK_FLAG OpenFlags;
            VIRTUAL_STORAGE_TYPE ParentVirtualStorageType;
            VIRTUAL_STORAGE_TYPE SourceVirtualStorageType;
            GUID ResiliencyGuid;
        } Version2;
    } u;
};
_Static_assert(sizeof(struct sdk_create_params) == 128, "the SDK's version 2 layout is 128 bytes");
_Static_assert(offsetof(struct sdk_create_params, u.Version2.ParentPath) == 48,
               "the SDK's version 2 ParentPath is at offset 48");

/* VIRTUAL_STORAGE_TYPE_VENDOR_MICROSOFT / _UNKNOWN (defined here: mingw declares them
 * extern, for libvirtdisk.a). */
static const GUID vendor_microsoft = {
    0xEC984AEC, 0xA0F9, 0x47E9, {0x90, 0x1F, 0x71, 0x41, 0x5A, 0x66, 0x34, 0x5B}};
static const GUID vendor_unknown = {0, 0, 0, {0, 0, 0, 0, 0, 0, 0, 0}};

struct disk_handle {
    HANDLE h;
    wchar_t *path;
    char ident[64];
    bool read_only;
    bool info_only;
};

/* The DLL's global state: its configuration and the disks it opened. */
static struct {
    struct fake_config cfg;
    CRITICAL_SECTION lock;
    struct disk_handle *disks;
    size_t ndisks, cap;
} g_vd;

BOOL WINAPI DllMain(HINSTANCE inst, DWORD reason, LPVOID reserved);

BOOL WINAPI DllMain(HINSTANCE inst, DWORD reason, LPVOID reserved)
{
    (void)reserved;
    if (reason == DLL_PROCESS_ATTACH) {
        DisableThreadLibraryCalls(inst);
        InitializeCriticalSection(&g_vd.lock);
        fake_config_load(&g_vd.cfg);
    }
    return TRUE;
}

static void log_call(const char *api, const wchar_t *path, DWORD rc, const char *msg)
{
    char *p = fake_u8(path, NULL);
    fake_log(&g_vd.cfg, "%s path=%s -> %lu%s%s", api, p ? p : "(null)", rc,
             msg && msg[0] ? ": " : "", msg ? msg : "");
    free(p);
}

/* ---- the VHDX format: what GetVirtualDiskInformation reports ------------------------------ */

/* {8B7CA206-4790-4B9A-B8FE-575F050F886E} and the metadata items (VHDX specification 1.0). */
static const GUID region_metadata = {
    0x8B7CA206, 0x4790, 0x4B9A, {0xB8, 0xFE, 0x57, 0x5F, 0x05, 0x0F, 0x88, 0x6E}};
static const GUID item_file_parameters = {
    0xCAA16737, 0xFA36, 0x4D43, {0xB3, 0xB6, 0x33, 0xF0, 0xAA, 0x44, 0xE7, 0x6B}};
static const GUID item_virtual_size = {
    0x2FA54224, 0xCD1B, 0x4876, {0xB2, 0x11, 0x5D, 0xBE, 0xD8, 0x3B, 0xF4, 0xB8}};
static const GUID item_logical_sector = {
    0x8141BF1D, 0xA96F, 0x4709, {0xBA, 0x47, 0xF2, 0x33, 0xA8, 0xFA, 0xAB, 0x5F}};

struct vhdx_info {
    uint64_t virtual_size, physical_size;
    uint32_t block_size, sector_size;
    bool fixed;
};

static bool read_at(HANDLE h, uint64_t off, void *buf, DWORD len)
{
    OVERLAPPED ov = {.Offset = (DWORD)off, .OffsetHigh = (DWORD)(off >> 32)};
    DWORD got = 0;
    return ReadFile(h, buf, len, &got, &ov) && got == len;
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p)
{
    return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

/* The metadata region's file offset, from the region table at 192 KiB. */
static bool metadata_region(HANDLE h, uint64_t *off)
{
    uint8_t rt[16 + 32 * 16];
    if (!read_at(h, 192 * 1024, rt, sizeof(rt)) || memcmp(rt, "regi", 4) != 0)
        return false;
    uint32_t n = le32(rt + 8);
    for (uint32_t i = 0; i < n && i < 16; i++) {
        const uint8_t *e = rt + 16 + 32 * i;
        if (!memcmp(e, &region_metadata, 16)) {
            *off = le64(e + 16);
            return true;
        }
    }
    return false;
}

static DWORD vhdx_read_info(HANDLE h, struct vhdx_info *out)
{
    uint8_t sig[8], table[32 + 32 * 64];
    uint64_t meta;
    LARGE_INTEGER size;
    if (!read_at(h, 0, sig, 8) || memcmp(sig, "vhdxfile", 8) != 0 || !metadata_region(h, &meta) ||
        !read_at(h, meta, table, sizeof(table)) || memcmp(table, "metadata", 8) != 0 ||
        !GetFileSizeEx(h, &size))
        return FAKE_ERROR_VIRTDISK_NOT_VIRTUAL_DISK;
    memset(out, 0, sizeof(*out));
    out->physical_size = (uint64_t)size.QuadPart;
    unsigned count = (unsigned)(table[10] | table[11] << 8);
    for (unsigned i = 0; i < count && i < 64; i++) {
        const uint8_t *e = table + 32 + 32 * i;
        uint8_t v[8];
        if (!read_at(h, meta + le32(e + 16), v, 8))
            return FAKE_ERROR_VIRTDISK_NOT_VIRTUAL_DISK;
        if (!memcmp(e, &item_virtual_size, 16))
            out->virtual_size = le64(v);
        else if (!memcmp(e, &item_file_parameters, 16)) {
            out->block_size = le32(v);
            out->fixed = le32(v + 4) & 1; /* LeaveBlocksAllocated */
        } else if (!memcmp(e, &item_logical_sector, 16))
            out->sector_size = le32(v);
    }
    return out->virtual_size ? ERROR_SUCCESS : FAKE_ERROR_VIRTDISK_NOT_VIRTUAL_DISK;
}

/* ---- handles ------------------------------------------------------------------------------- */

static HANDLE open_file(const wchar_t *path, bool write, DWORD *rc)
{
    HANDLE h = CreateFileW(path, GENERIC_READ | (write ? GENERIC_WRITE : 0),
                           FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL,
                           OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, NULL);
    *rc = h == INVALID_HANDLE_VALUE ? GetLastError() : ERROR_SUCCESS;
    return h;
}

static DWORD handle_add(HANDLE h, const wchar_t *path, bool read_only, bool info_only)
{
    char ident[64];
    struct evm_err err = {0};
    if (fake_file_identity(path, ident, sizeof(ident), &err) < 0)
        return ERROR_FILE_NOT_FOUND;
    wchar_t *copy = _wcsdup(path);
    DWORD rc = copy ? ERROR_SUCCESS : ERROR_NOT_ENOUGH_MEMORY;
    EnterCriticalSection(&g_vd.lock);
    if (rc == ERROR_SUCCESS && g_vd.ndisks == g_vd.cap) {
        size_t cap = g_vd.cap ? g_vd.cap * 2 : 8;
        struct disk_handle *n = realloc(g_vd.disks, cap * sizeof(*n));
        if (n) {
            g_vd.disks = n;
            g_vd.cap = cap;
        } else {
            rc = ERROR_NOT_ENOUGH_MEMORY;
        }
    }
    if (rc == ERROR_SUCCESS) {
        struct disk_handle *d = &g_vd.disks[g_vd.ndisks++];
        d->h = h;
        d->path = copy;
        snprintf(d->ident, sizeof(d->ident), "%s", ident);
        d->read_only = read_only;
        d->info_only = info_only;
        copy = NULL;
    }
    LeaveCriticalSection(&g_vd.lock);
    free(copy);
    return rc;
}

/* The disk behind a handle this DLL returned. A handle value the caller closed (CloseHandle)
 * and the system reused for another file no longer matches the disk's identity. */
static bool handle_find(HANDLE h, struct disk_handle *out)
{
    bool found = false;
    EnterCriticalSection(&g_vd.lock);
    for (size_t i = g_vd.ndisks; i-- > 0 && !found;) {
        if (g_vd.disks[i].h != h)
            continue;
        BY_HANDLE_FILE_INFORMATION fi;
        char ident[64] = "";
        if (GetFileInformationByHandle(h, &fi))
            snprintf(ident, sizeof(ident), "%08lX:%08lX%08lX", fi.dwVolumeSerialNumber,
                     fi.nFileIndexHigh, fi.nFileIndexLow);
        if (!strcmp(ident, g_vd.disks[i].ident)) {
            *out = g_vd.disks[i];
            out->path = _wcsdup(g_vd.disks[i].path);
            found = out->path != NULL;
        } else {
            free(g_vd.disks[i].path); /* closed by the caller: forget it */
            g_vd.disks[i] = g_vd.disks[--g_vd.ndisks];
        }
    }
    LeaveCriticalSection(&g_vd.lock);
    return found;
}

/* A running VM holds its disks open exclusively (state file: systems' Disks). */
static bool in_use(const wchar_t *path, char *vm, size_t n)
{
    char key[MAX_PATH * 3];
    struct fake_state st;
    struct evm_err err = {0};
    if (fake_full_path_key(path, key, sizeof(key), &err) < 0 ||
        fake_state_begin(&g_vd.cfg, &st, &err) < 0)
        return false;
    bool used = false;
    const cJSON *s;
    cJSON_ArrayForEach(s, fake_state_array(&st, "systems"))
    {
        const char *state = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(s, "State"));
        const cJSON *d;
        cJSON_ArrayForEach(d, cJSON_GetObjectItemCaseSensitive(s, "Disks"))
        {
            if (!used && state && !strcmp(state, "Running") && cJSON_IsString(d) &&
                !strcmp(d->valuestring, key) && fake_system_exists(s)) {
                used = true;
                snprintf(vm, n, "%s",
                         cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(s, "Id")));
            }
        }
    }
    fake_state_end(&g_vd.cfg, &st, false, NULL);
    return used;
}

static bool vhdx_type(const VIRTUAL_STORAGE_TYPE *t, bool allow_unknown)
{
    if (!t)
        return false;
    if (t->DeviceId == VIRTUAL_STORAGE_TYPE_DEVICE_VHDX &&
        IsEqualGUID(&t->VendorId, &vendor_microsoft))
        return true;
    return allow_unknown && t->DeviceId == VIRTUAL_STORAGE_TYPE_DEVICE_UNKNOWN &&
           IsEqualGUID(&t->VendorId, &vendor_unknown);
}

/* ---- qemu-img ------------------------------------------------------------------------------ */

static DWORD run_qemu_img(const char *const *argv, char *msg, size_t n)
{
    char out[512];
    int status = -1;
    struct evm_err err = {0};
    if (fake_run_unix(&g_vd.cfg, argv, QEMU_IMG_TIMEOUT_MS, &status, out, sizeof(out), &err) < 0) {
        snprintf(msg, n, "%s", err.msg);
        return ERROR_GEN_FAILURE;
    }
    if (status == 127) {
        snprintf(msg, n, "qemu-img is not installed on the Linux side (Debian: qemu-utils)");
        return ERROR_FILE_NOT_FOUND;
    }
    if (status != 0) {
        for (char *p = out; *p; p++)
            if (*p == '\n' || *p == '\r')
                *p = ' ';
        snprintf(msg, n, "qemu-img failed (status %d): %s", status, out);
        return ERROR_GEN_FAILURE;
    }
    return ERROR_SUCCESS;
}

static DWORD qemu_create(const char *unix_path, uint64_t size, uint32_t block, char *msg, size_t n)
{
    char opts[96], sz[32];
    if (block)
        snprintf(opts, sizeof(opts), "subformat=dynamic,block_size=%u", block);
    else
        snprintf(opts, sizeof(opts), "subformat=dynamic");
    snprintf(sz, sizeof(sz), "%llu", (unsigned long long)size);
    const char *argv[] = {"qemu-img", "create", "-q",      "-f", "vhdx",
                          "-o",       opts,     unix_path, sz,   NULL};
    return run_qemu_img(argv, msg, n);
}

/* QEMU's VHDX driver cannot resize: make a new VHDX of the new size, copy the data into it,
 * and copy it back over the same file (cp keeps the file, and with it the grants). */
static DWORD qemu_grow(const char *unix_path, uint64_t size, uint32_t block, char *msg, size_t n)
{
    static const char script[] =
        "set -e; tmp=\"$1.fake-resize\"; rm -f \"$tmp\"; "
        "qemu-img create -q -f vhdx -o subformat=dynamic,block_size=\"$3\" \"$tmp\" \"$2\"; "
        "qemu-img convert -n -f vhdx -O vhdx \"$1\" \"$tmp\"; "
        "cp --sparse=always \"$tmp\" \"$1\"; rm -f \"$tmp\"";
    char sz[32], bs[16];
    snprintf(sz, sizeof(sz), "%llu", (unsigned long long)size);
    snprintf(bs, sizeof(bs), "%u", block);
    const char *argv[] = {"/bin/sh", "-c", script, "fake-resize", unix_path, sz, bs, NULL};
    return run_qemu_img(argv, msg, n);
}

/* ---- CreateVirtualDisk ------------------------------------------------------------------------
 */

static bool pow2_between(ULONG v, ULONG lo, ULONG hi)
{
    return v >= lo && v <= hi && (v & (v - 1)) == 0;
}

static DWORD check_create(PVIRTUAL_STORAGE_TYPE type, VIRTUAL_DISK_ACCESS_MASK mask,
                          CREATE_VIRTUAL_DISK_FLAG flags, const struct sdk_create_params *p,
                          LPOVERLAPPED ov, PHANDLE handle, char *msg, size_t n)
{
    if (!vhdx_type(type, false)) {
        snprintf(msg, n, "only VIRTUAL_STORAGE_TYPE_DEVICE_VHDX from Microsoft is simulated");
        return ERROR_INVALID_PARAMETER;
    }
    if (!p || !handle) {
        snprintf(msg, n, "Parameters and Handle are required");
        return ERROR_INVALID_PARAMETER;
    }
    if (p->Version != CREATE_VIRTUAL_DISK_VERSION_2) {
        snprintf(msg, n, "a VHDX needs CREATE_VIRTUAL_DISK_VERSION_2 parameters (got %d)",
                 (int)p->Version);
        return ERROR_INVALID_PARAMETER;
    }
    if (mask != VIRTUAL_DISK_ACCESS_NONE) {
        snprintf(msg, n, "version 2 parameters need VIRTUAL_DISK_ACCESS_NONE (got 0x%x)",
                 (unsigned)mask);
        return ERROR_INVALID_PARAMETER;
    }
    const ULONGLONG size = p->u.Version2.MaximumSize;
    if (size == 0 || size % 512 != 0 || size > (64ull << 40)) {
        snprintf(msg, n, "MaximumSize %llu is not a multiple of 512 up to 64 TiB",
                 (unsigned long long)size);
        return ERROR_INVALID_PARAMETER;
    }
    ULONG bs = p->u.Version2.BlockSizeInBytes, ss = p->u.Version2.SectorSizeInBytes;
    ULONG ps = p->u.Version2.PhysicalSectorSizeInBytes;
    if ((bs && !pow2_between(bs, 1u << 20, 256u << 20)) || (ss && ss != 512 && ss != 4096) ||
        (ps && ps != 512 && ps != 4096)) {
        snprintf(msg, n,
                 "BlockSizeInBytes %lu / SectorSizeInBytes %lu / PhysicalSectorSizeInBytes "
                 "%lu are not valid VHDX values (did the caller use mingw's 120-byte "
                 "struct?)",
                 bs, ss, ps);
        return ERROR_INVALID_PARAMETER;
    }
    if (ss == 4096 || p->u.Version2.ParentPath || p->u.Version2.SourcePath || flags != 0 || ov) {
        snprintf(msg, n,
                 "not simulated: 4K logical sectors, a parent or source disk, flags "
                 "other than NONE, or an OVERLAPPED create");
        return ERROR_NOT_SUPPORTED;
    }
    return ERROR_SUCCESS;
}

static DWORD path_free(const wchar_t *path, char *msg, size_t n)
{
    if (GetFileAttributesW(path) != INVALID_FILE_ATTRIBUTES) {
        snprintf(msg, n, "the file exists");
        return ERROR_FILE_EXISTS;
    }
    DWORD e = GetLastError();
    if (e == ERROR_PATH_NOT_FOUND) {
        snprintf(msg, n, "its directory does not exist");
        return ERROR_PATH_NOT_FOUND;
    }
    return ERROR_SUCCESS;
}

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wattributes" /* virtdisk.h declares these dllimport */

DWORD WINAPI CreateVirtualDisk(PVIRTUAL_STORAGE_TYPE VirtualStorageType, PCWSTR Path,
                               VIRTUAL_DISK_ACCESS_MASK VirtualDiskAccessMask,
                               PSECURITY_DESCRIPTOR SecurityDescriptor,
                               CREATE_VIRTUAL_DISK_FLAG Flags, ULONG ProviderSpecificFlags,
                               PCREATE_VIRTUAL_DISK_PARAMETERS Parameters, LPOVERLAPPED Overlapped,
                               PHANDLE Handle)
{
    (void)SecurityDescriptor;
    (void)ProviderSpecificFlags;
    char msg[700] = "";
    const struct sdk_create_params *p = (const struct sdk_create_params *)(void *)Parameters;
    DWORD rc = Path ? check_create(VirtualStorageType, VirtualDiskAccessMask, Flags, p, Overlapped,
                                   Handle, msg, sizeof(msg))
                    : ERROR_INVALID_PARAMETER;
    if (rc == ERROR_SUCCESS)
        rc = path_free(Path, msg, sizeof(msg));
    struct evm_err err = {0};
    char *unix_path = rc == ERROR_SUCCESS ? fake_unix_path(Path, &err) : NULL;
    if (rc == ERROR_SUCCESS && !unix_path) {
        snprintf(msg, sizeof(msg), "%s", err.msg);
        rc = ERROR_NOT_SUPPORTED;
    }
    if (rc == ERROR_SUCCESS)
        rc = qemu_create(unix_path, p->u.Version2.MaximumSize, p->u.Version2.BlockSizeInBytes, msg,
                         sizeof(msg));
    HANDLE h = INVALID_HANDLE_VALUE;
    if (rc == ERROR_SUCCESS)
        h = open_file(Path, true, &rc);
    if (rc == ERROR_SUCCESS)
        rc = handle_add(h, Path, false, false);
    if (rc == ERROR_SUCCESS) {
        *Handle = h;
        snprintf(msg, sizeof(msg), "dynamic VHDX of %llu bytes made by qemu-img",
                 (unsigned long long)p->u.Version2.MaximumSize);
    } else if (h != INVALID_HANDLE_VALUE) {
        CloseHandle(h);
    }
    log_call("CreateVirtualDisk", Path, rc, msg);
    free(unix_path);
    return rc;
}

/* ---- OpenVirtualDisk ------------------------------------------------------------------------ */

static DWORD check_open(PVIRTUAL_STORAGE_TYPE type, VIRTUAL_DISK_ACCESS_MASK mask,
                        OPEN_VIRTUAL_DISK_FLAG flags, const OPEN_VIRTUAL_DISK_PARAMETERS *p,
                        PHANDLE handle, bool *ro, bool *info_only, char *msg, size_t n)
{
    *ro = *info_only = false;
    if (!vhdx_type(type, true) || !handle) {
        snprintf(msg, n,
                 "only VHDX (or the unknown type, detected) is simulated, and Handle is "
                 "required");
        return ERROR_INVALID_PARAMETER;
    }
    if (flags != OPEN_VIRTUAL_DISK_FLAG_NONE) {
        snprintf(msg, n, "open flags 0x%x are not simulated", (unsigned)flags);
        return ERROR_NOT_SUPPORTED;
    }
    if (p && p->Version == OPEN_VIRTUAL_DISK_VERSION_2) {
        if (mask != VIRTUAL_DISK_ACCESS_NONE) {
            snprintf(msg, n, "version 2 parameters need VIRTUAL_DISK_ACCESS_NONE");
            return ERROR_INVALID_PARAMETER;
        }
        *ro = p->Version2.ReadOnly != FALSE;
        *info_only = p->Version2.GetInfoOnly != FALSE;
        return ERROR_SUCCESS;
    }
    if (p && p->Version != OPEN_VIRTUAL_DISK_VERSION_1) {
        snprintf(msg, n, "OPEN_VIRTUAL_DISK_VERSION %d is not simulated", (int)p->Version);
        return ERROR_INVALID_PARAMETER;
    }
    if (mask == VIRTUAL_DISK_ACCESS_NONE) {
        snprintf(msg, n, "version 1 parameters need an access mask");
        return ERROR_INVALID_PARAMETER;
    }
    *ro = !(mask & (VIRTUAL_DISK_ACCESS_WRITABLE | VIRTUAL_DISK_ACCESS_METAOPS));
    *info_only = (mask & ~VIRTUAL_DISK_ACCESS_GET_INFO) == 0;
    return ERROR_SUCCESS;
}

DWORD WINAPI OpenVirtualDisk(PVIRTUAL_STORAGE_TYPE VirtualStorageType, PCWSTR Path,
                             VIRTUAL_DISK_ACCESS_MASK VirtualDiskAccessMask,
                             OPEN_VIRTUAL_DISK_FLAG Flags, POPEN_VIRTUAL_DISK_PARAMETERS Parameters,
                             PHANDLE Handle)
{
    char msg[400] = "", vm[128];
    bool ro = false, info_only = false;
    DWORD rc = Path ? check_open(VirtualStorageType, VirtualDiskAccessMask, Flags, Parameters,
                                 Handle, &ro, &info_only, msg, sizeof(msg))
                    : ERROR_INVALID_PARAMETER;
    HANDLE h = INVALID_HANDLE_VALUE;
    struct vhdx_info info;
    if (rc == ERROR_SUCCESS && !info_only && in_use(Path, vm, sizeof(vm))) {
        snprintf(msg, sizeof(msg), "the running VM %s holds the disk", vm);
        rc = ERROR_SHARING_VIOLATION;
    }
    if (rc == ERROR_SUCCESS)
        h = open_file(Path, !ro && !info_only, &rc);
    if (rc == ERROR_SUCCESS && (rc = vhdx_read_info(h, &info)) != ERROR_SUCCESS)
        snprintf(msg, sizeof(msg), "not a VHDX file");
    if (rc == ERROR_SUCCESS)
        rc = handle_add(h, Path, ro, info_only);
    if (rc == ERROR_SUCCESS)
        *Handle = h;
    else if (h != INVALID_HANDLE_VALUE)
        CloseHandle(h);
    log_call("OpenVirtualDisk", Path, rc, msg);
    return rc;
}

/* ---- GetVirtualDiskInformation ----------------------------------------------------------- */

DWORD WINAPI GetVirtualDiskInformation(HANDLE VirtualDiskHandle, PULONG VirtualDiskInfoSize,
                                       PGET_VIRTUAL_DISK_INFO VirtualDiskInfo, PULONG SizeUsed)
{
    struct disk_handle d = {0};
    struct vhdx_info info;
    char msg[200] = "";
    DWORD rc = ERROR_SUCCESS;
    if (!handle_find(VirtualDiskHandle, &d))
        rc = ERROR_INVALID_HANDLE;
    else if (!VirtualDiskInfoSize || !VirtualDiskInfo)
        rc = ERROR_INVALID_PARAMETER;
    else if (*VirtualDiskInfoSize < sizeof(GET_VIRTUAL_DISK_INFO)) {
        *VirtualDiskInfoSize = sizeof(GET_VIRTUAL_DISK_INFO);
        rc = ERROR_INSUFFICIENT_BUFFER;
    } else {
        rc = vhdx_read_info(VirtualDiskHandle, &info);
    }
    if (rc == ERROR_SUCCESS) {
        switch (VirtualDiskInfo->Version) {
        case GET_VIRTUAL_DISK_INFO_SIZE:
            VirtualDiskInfo->Size.VirtualSize = info.virtual_size;
            VirtualDiskInfo->Size.PhysicalSize = info.physical_size;
            VirtualDiskInfo->Size.BlockSize = info.block_size;
            VirtualDiskInfo->Size.SectorSize = info.sector_size;
            snprintf(msg, sizeof(msg), "VirtualSize=%llu PhysicalSize=%llu",
                     (unsigned long long)info.virtual_size, (unsigned long long)info.physical_size);
            break;
        case GET_VIRTUAL_DISK_INFO_VIRTUAL_STORAGE_TYPE:
            VirtualDiskInfo->VirtualStorageType.DeviceId = VIRTUAL_STORAGE_TYPE_DEVICE_VHDX;
            VirtualDiskInfo->VirtualStorageType.VendorId = vendor_microsoft;
            break;
        case GET_VIRTUAL_DISK_INFO_PROVIDER_SUBTYPE:
            VirtualDiskInfo->ProviderSubtype = info.fixed ? 2 : 3;
            break;
        default:
            snprintf(msg, sizeof(msg), "information version %d is not simulated",
                     (int)VirtualDiskInfo->Version);
            rc = ERROR_NOT_SUPPORTED;
        }
    }
    if (rc == ERROR_SUCCESS && SizeUsed)
        *SizeUsed = sizeof(GET_VIRTUAL_DISK_INFO);
    log_call("GetVirtualDiskInformation", d.path, rc, msg);
    free(d.path);
    return rc;
}

/* ---- ResizeVirtualDisk --------------------------------------------------------------------- */

static DWORD check_resize(const struct disk_handle *d, RESIZE_VIRTUAL_DISK_FLAG flags,
                          const RESIZE_VIRTUAL_DISK_PARAMETERS *p, LPOVERLAPPED ov,
                          uint64_t current, char *msg, size_t n)
{
    char vm[128];
    if (!p || p->Version != RESIZE_VIRTUAL_DISK_VERSION_1) {
        snprintf(msg, n, "RESIZE_VIRTUAL_DISK_VERSION_1 parameters are required");
        return ERROR_INVALID_PARAMETER;
    }
    if (d->read_only || d->info_only) {
        snprintf(msg, n, "the handle was opened read-only or for information only");
        return ERROR_ACCESS_DENIED;
    }
    if (ov || (flags & ~RESIZE_VIRTUAL_DISK_FLAG_ALLOW_UNSAFE_VIRTUAL_SIZE)) {
        snprintf(msg, n, "not simulated: an OVERLAPPED resize or flags 0x%x", (unsigned)flags);
        return ERROR_NOT_SUPPORTED;
    }
    if (p->Version1.NewSize == 0 || p->Version1.NewSize % 512 != 0) {
        snprintf(msg, n, "NewSize %llu is not a positive multiple of 512",
                 (unsigned long long)p->Version1.NewSize);
        return ERROR_INVALID_PARAMETER;
    }
    if (p->Version1.NewSize < current &&
        !(flags & RESIZE_VIRTUAL_DISK_FLAG_ALLOW_UNSAFE_VIRTUAL_SIZE)) {
        snprintf(msg, n,
                 "shrinking from %llu to %llu bytes needs "
                 "RESIZE_VIRTUAL_DISK_FLAG_ALLOW_UNSAFE_VIRTUAL_SIZE",
                 (unsigned long long)current, (unsigned long long)p->Version1.NewSize);
        return ERROR_INVALID_PARAMETER;
    }
    if (p->Version1.NewSize < current) {
        snprintf(msg, n, "shrinking is not simulated");
        return ERROR_NOT_SUPPORTED;
    }
    if (in_use(d->path, vm, sizeof(vm))) {
        snprintf(msg, n, "the running VM %s holds the disk", vm);
        return ERROR_SHARING_VIOLATION;
    }
    return ERROR_SUCCESS;
}

DWORD WINAPI ResizeVirtualDisk(HANDLE VirtualDiskHandle, RESIZE_VIRTUAL_DISK_FLAG Flags,
                               PRESIZE_VIRTUAL_DISK_PARAMETERS Parameters, LPOVERLAPPED Overlapped)
{
    struct disk_handle d = {0};
    struct vhdx_info info;
    char msg[700] = "";
    DWORD rc = handle_find(VirtualDiskHandle, &d) ? ERROR_SUCCESS : ERROR_INVALID_HANDLE;
    if (rc == ERROR_SUCCESS)
        rc = vhdx_read_info(VirtualDiskHandle, &info);
    if (rc == ERROR_SUCCESS)
        rc = check_resize(&d, Flags, Parameters, Overlapped, info.virtual_size, msg, sizeof(msg));
    bool grow = rc == ERROR_SUCCESS && Parameters->Version1.NewSize > info.virtual_size;
    struct evm_err err = {0};
    char *unix_path = grow ? fake_unix_path(d.path, &err) : NULL;
    if (grow && !unix_path) {
        snprintf(msg, sizeof(msg), "%s", err.msg);
        rc = ERROR_NOT_SUPPORTED;
    } else if (grow) {
        rc = qemu_grow(unix_path, Parameters->Version1.NewSize, info.block_size, msg, sizeof(msg));
    }
    if (rc == ERROR_SUCCESS)
        snprintf(msg, sizeof(msg), "%llu -> %llu bytes%s", (unsigned long long)info.virtual_size,
                 (unsigned long long)Parameters->Version1.NewSize, grow ? "" : " (no change)");
    log_call("ResizeVirtualDisk", d.path, rc, msg);
    free(unix_path);
    free(d.path);
    return rc;
}

#pragma GCC diagnostic pop
