/* vhdx_win.c — the HCS backend's root disk (vm.h's vm_disk_ensure): a dynamic VHDX made
 * with virtdisk.dll (loaded at run time, hcsapi_win.h), grown with OpenVirtualDisk +
 * ResizeVirtualDisk while the VM is off, never shrunk. virtdisk's functions return Win32
 * error codes, not HRESULTs. The file inherits the data directory's ACL; the VM's access
 * is granted per boot by vm_start (HcsGrantVmAccess). The stale sweep (hcssweep_win.h) runs
 * first: a VM a crashed agent left running would hold the disk open. */
#include "vm/vhdx_win.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "vm/hcsapi_win.h"
#include "vm/hcssweep_win.h"
#include "vm/vm.h"
#include "winutil.h"

#define MIB (1ull << 20)

/* VIRTUAL_STORAGE_TYPE_VENDOR_MICROSOFT, defined here: mingw's DEFINE_GUID needs uuid.lib. */
static const GUID vendor_microsoft = {
    0xEC984AEC, 0xA0F9, 0x47E9, {0x90, 0x1F, 0x71, 0x41, 0x5A, 0x66, 0x34, 0x5B}};

uint64_t vhdx_virtual_size(uint64_t size_bytes)
{
    if (size_bytes > UINT64_MAX - (MIB - 1))
        return UINT64_MAX & ~(MIB - 1);
    return (size_bytes + MIB - 1) & ~(MIB - 1);
}

void vhdx_create_params_init(struct vhdx_create_params *p, uint64_t virtual_size)
{
    memset(p, 0, sizeof(*p));
    p->Version = CREATE_VIRTUAL_DISK_VERSION_2;
    p->Version2.MaximumSize = virtual_size;
    /* BlockSizeInBytes, SectorSizeInBytes, PhysicalSectorSizeInBytes 0: the defaults (32 MiB
     * blocks, 512-byte logical sectors); no parent, no source: an empty dynamic disk. */
}

static int disk_errf(struct evm_err *err, const char *path, const char *doing, DWORD code)
{
    char msg[256];
    return evm_errf(err, win_errno(code), "root disk %s: %s: %s (Win32 error %lu)", path, doing,
                    win_strerror(code, msg, sizeof(msg)), (unsigned long)code);
}

static int create_vhdx(const struct hcsapi *api, const char *path, const wchar_t *wpath,
                       uint64_t size, struct evm_err *err)
{
    VIRTUAL_STORAGE_TYPE type = {VIRTUAL_STORAGE_TYPE_DEVICE_VHDX, vendor_microsoft};
    struct vhdx_create_params p;
    vhdx_create_params_init(&p, vhdx_virtual_size(size));
    HANDLE disk = NULL;
    DWORD e = api->CreateVirtualDisk(&type, wpath, VIRTUAL_DISK_ACCESS_NONE, NULL,
                                     CREATE_VIRTUAL_DISK_FLAG_NONE, 0, &p, NULL, &disk);
    if (e != ERROR_SUCCESS)
        return disk_errf(err, path, "creating a dynamic VHDX", e);
    CloseHandle(disk);
    log_info("root disk %s: created (dynamic VHDX, %llu MiB)", path,
             (unsigned long long)(p.Version2.MaximumSize / MIB));
    return 0;
}

/* Grows the disk to size when it is smaller; *grown says whether it was. */
static int grow_vhdx(const struct hcsapi *api, const char *path, const wchar_t *wpath,
                     uint64_t size, bool *grown, struct evm_err *err)
{
    VIRTUAL_STORAGE_TYPE type = {VIRTUAL_STORAGE_TYPE_DEVICE_VHDX, vendor_microsoft};
    OPEN_VIRTUAL_DISK_PARAMETERS op = {.Version = OPEN_VIRTUAL_DISK_VERSION_2};
    HANDLE disk = NULL;
    DWORD e = api->OpenVirtualDisk(&type, wpath, VIRTUAL_DISK_ACCESS_NONE,
                                   OPEN_VIRTUAL_DISK_FLAG_NONE, &op, &disk);
    if (e != ERROR_SUCCESS)
        return disk_errf(err, path, "opening the VHDX", e);
    int r = 0;
    GET_VIRTUAL_DISK_INFO info = {.Version = GET_VIRTUAL_DISK_INFO_SIZE};
    ULONG info_size = sizeof(info);
    e = api->GetVirtualDiskInformation(disk, &info_size, &info, NULL);
    if (e != ERROR_SUCCESS) {
        r = disk_errf(err, path, "reading the VHDX's size", e);
        goto out;
    }
    uint64_t want = vhdx_virtual_size(size);
    if (info.Size.VirtualSize >= want)
        goto out; /* never shrink */
    RESIZE_VIRTUAL_DISK_PARAMETERS rp = {.Version = RESIZE_VIRTUAL_DISK_VERSION_1};
    rp.Version1.NewSize = want;
    e = api->ResizeVirtualDisk(disk, RESIZE_VIRTUAL_DISK_FLAG_NONE, &rp, NULL);
    if (e != ERROR_SUCCESS) {
        r = disk_errf(err, path, "growing the VHDX", e);
        goto out;
    }
    *grown = true;
    log_info("root disk %s: grown from %llu to %llu MiB (dynamic VHDX)", path,
             (unsigned long long)(info.Size.VirtualSize / MIB), (unsigned long long)(want / MIB));
out:
    CloseHandle(disk);
    return r;
}

/* 1: a regular file is there, 0: nothing is, else a negative errno. */
static int disk_present(const char *path, const wchar_t *wpath, struct evm_err *err)
{
    DWORD attrs = GetFileAttributesW(wpath);
    if (attrs == INVALID_FILE_ATTRIBUTES) {
        DWORD e = GetLastError();
        if (e == ERROR_FILE_NOT_FOUND || e == ERROR_PATH_NOT_FOUND)
            return 0;
        return disk_errf(err, path, "checking the file", e);
    }
    if (attrs & (FILE_ATTRIBUTE_DIRECTORY | FILE_ATTRIBUTE_REPARSE_POINT))
        return evm_errf(err, EINVAL, "root disk %s: not a regular file", path);
    return 1;
}

int vm_disk_ensure(const char *path, uint64_t size_bytes, bool *grown, struct evm_err *err)
{
    *grown = false;
    struct hcsapi api;
    wchar_t *wpath = NULL;
    /* The whole platform, not just virtdisk.dll: a VHDX is of no use without the compute
     * service, on a machine without Hyper-V "Hyper-V platform not available: computecore.dll"
     * is the message to give (wine, for one, ships a virtdisk.dll whose CreateVirtualDisk
     * aborts), and the stale sweep needs it. */
    int r = hcsapi_load(&api, HCSAPI_ALL, err);
    if (r < 0)
        return r;
    hcs_sweep_stale(&api); /* a VM a crashed agent left would hold the disk open */
    r = hcs_full_path(path, &wpath, NULL, err);
    if (r == 0)
        r = disk_present(path, wpath, err);
    if (r == 0) {
        r = create_vhdx(&api, path, wpath, size_bytes, err);
        *grown = r == 0;
    } else if (r == 1) {
        r = grow_vhdx(&api, path, wpath, size_bytes, grown, err);
    }
    free(wpath);
    hcsapi_unload(&api);
    return r;
}
