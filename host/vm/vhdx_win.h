/* vhdx_win.h — the parameters block virtdisk.dll's CreateVirtualDisk takes for a VHDX,
 * defined here because mingw-w64's CREATE_VIRTUAL_DISK_PARAMETERS (10.0.0) lacks the
 * Version2 member PhysicalSectorSizeInBytes: its struct is 120 bytes with ParentPath at
 * offset 40, where the SDK's (and virtdisk.dll's) is 128 bytes with ParentPath at 48.
 * vhdx_win.c (vm_disk_ensure) uses it; the layout is asserted at compile time. Windows only. */
#ifndef EVM_VHDX_WIN_H
#define EVM_VHDX_WIN_H

#include <windows.h>

#include <stddef.h>
#include <stdint.h>
#include <virtdisk.h>

/* CREATE_VIRTUAL_DISK_PARAMETERS with Version = CREATE_VIRTUAL_DISK_VERSION_2, as in the
 * Windows SDK's virtdisk.h (learn.microsoft.com/windows/win32/api/virtdisk). */
struct vhdx_create_params {
    CREATE_VIRTUAL_DISK_VERSION Version; /* 2 */
    struct {
        GUID UniqueId;
        ULONGLONG MaximumSize; /* bytes, a multiple of 512 */
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
};

_Static_assert(sizeof(struct vhdx_create_params) == 128,
               "CREATE_VIRTUAL_DISK_PARAMETERS v2 is 128 bytes in the Windows SDK");
_Static_assert(offsetof(struct vhdx_create_params, Version2.ParentPath) == 48,
               "ParentPath sits at offset 48 in the Windows SDK's layout");
_Static_assert(offsetof(struct vhdx_create_params, Version2.MaximumSize) == 24,
               "MaximumSize sits at offset 24 in the Windows SDK's layout");
_Static_assert(offsetof(struct vhdx_create_params, Version2.ResiliencyGuid) == 108,
               "ResiliencyGuid sits at offset 108 in the Windows SDK's layout");

/* The virtual size the disk is given for a requested size: rounded up to a whole MiB (VHDX
 * wants a multiple of the 512-byte sector; a MiB keeps it aligned to any block size). */
uint64_t vhdx_virtual_size(uint64_t size_bytes);

/* Fills p for a dynamic VHDX of the given virtual size: version 2, default block and
 * sector sizes, no parent, no source. */
void vhdx_create_params_init(struct vhdx_create_params *p, uint64_t virtual_size);

#endif
