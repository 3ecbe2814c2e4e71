/* hcsapi_win.h — the Hyper-V platform's DLLs, loaded at run time: computecore.dll (the Host
 * Compute Service), computenetwork.dll (the host network service) and virtdisk.dll (VHDX),
 * each from system32 only, so the agent starts on a machine without Hyper-V and says what
 * is missing instead of failing to load. Nothing links their import libraries. Also the
 * small string helpers every HCS caller needs: UTF-16 to UTF-8, absolute Windows paths,
 * GUID text, and freeing the strings the DLLs hand back. Windows only. */
#ifndef EVM_HCSAPI_WIN_H
#define EVM_HCSAPI_WIN_H

#include <windows.h>

#include <computedefs.h>
#include <stdbool.h>
#include <stdint.h>
#include <virtdisk.h>

#include "err.h"

/* Which DLLs hcsapi_load loads. */
enum {
    HCSAPI_COMPUTE = 1u << 0,  /* computecore.dll */
    HCSAPI_NETWORK = 1u << 1,  /* computenetwork.dll */
    HCSAPI_VIRTDISK = 1u << 2, /* virtdisk.dll */
    HCSAPI_ALL = HCSAPI_COMPUTE | HCSAPI_NETWORK | HCSAPI_VIRTDISK,
};

/* HCN handles (computenetwork.h's types, repeated so that header's prototypes stay out). */
typedef void *HCSAPI_HCN_NETWORK;
typedef void *HCSAPI_HCN_ENDPOINT;

/* The entry points, named as in the SDK so that calls read like the documentation. A member
 * is NULL only when its DLL was not asked for. */
struct hcsapi {
    HMODULE computecore, computenetwork, virtdisk;

    /* computecore.dll */
    HCS_OPERATION(WINAPI *HcsCreateOperation)(const void *context, HCS_OPERATION_COMPLETION cb);
    void(WINAPI *HcsCloseOperation)(HCS_OPERATION op);
    HRESULT(WINAPI *HcsWaitForOperationResult)(HCS_OPERATION op, DWORD timeout_ms, PWSTR *result);
    HRESULT(WINAPI *HcsGetOperationResult)(HCS_OPERATION op, PWSTR *result);
    HRESULT(WINAPI *HcsCreateComputeSystem)
    (PCWSTR id, PCWSTR configuration, HCS_OPERATION op, const SECURITY_DESCRIPTOR *sd,
     HCS_SYSTEM *system);
    HRESULT(WINAPI *HcsOpenComputeSystem)(PCWSTR id, DWORD access, HCS_SYSTEM *system);
    void(WINAPI *HcsCloseComputeSystem)(HCS_SYSTEM system);
    HRESULT(WINAPI *HcsStartComputeSystem)(HCS_SYSTEM system, HCS_OPERATION op, PCWSTR options);
    HRESULT(WINAPI *HcsShutDownComputeSystem)(HCS_SYSTEM system, HCS_OPERATION op, PCWSTR options);
    HRESULT(WINAPI *HcsTerminateComputeSystem)(HCS_SYSTEM system, HCS_OPERATION op, PCWSTR options);
    HRESULT(WINAPI *HcsEnumerateComputeSystems)(PCWSTR query, HCS_OPERATION op);
    HRESULT(WINAPI *HcsSetComputeSystemCallback)
    (HCS_SYSTEM system, HCS_EVENT_OPTIONS options, const void *context, HCS_EVENT_CALLBACK cb);
    HRESULT(WINAPI *HcsGetServiceProperties)(PCWSTR query, PWSTR *result);
    HRESULT(WINAPI *HcsGrantVmAccess)(PCWSTR vm_id, PCWSTR path);
    HRESULT(WINAPI *HcsRevokeVmAccess)(PCWSTR vm_id, PCWSTR path);

    /* computenetwork.dll */
    HRESULT(WINAPI *HcnEnumerateNetworks)(PCWSTR query, PWSTR *networks, PWSTR *error_record);
    HRESULT(WINAPI *HcnOpenNetwork)(REFGUID id, HCSAPI_HCN_NETWORK *network, PWSTR *error_record);
    HRESULT(WINAPI *HcnCloseNetwork)(HCSAPI_HCN_NETWORK network);
    HRESULT(WINAPI *HcnEnumerateEndpoints)(PCWSTR query, PWSTR *endpoints, PWSTR *error_record);
    HRESULT(WINAPI *HcnCreateEndpoint)
    (HCSAPI_HCN_NETWORK network, REFGUID id, PCWSTR settings, HCSAPI_HCN_ENDPOINT *endpoint,
     PWSTR *error_record);
    HRESULT(WINAPI *HcnOpenEndpoint)
    (REFGUID id, HCSAPI_HCN_ENDPOINT *endpoint, PWSTR *error_record);
    HRESULT(WINAPI *HcnQueryEndpointProperties)
    (HCSAPI_HCN_ENDPOINT endpoint, PCWSTR query, PWSTR *properties, PWSTR *error_record);
    HRESULT(WINAPI *HcnCloseEndpoint)(HCSAPI_HCN_ENDPOINT endpoint);
    HRESULT(WINAPI *HcnDeleteEndpoint)(REFGUID id, PWSTR *error_record);

    /* virtdisk.dll: these return Win32 error codes, not HRESULTs */
    DWORD(WINAPI *CreateVirtualDisk)
    (PVIRTUAL_STORAGE_TYPE type, PCWSTR path, VIRTUAL_DISK_ACCESS_MASK access,
     PSECURITY_DESCRIPTOR sd, CREATE_VIRTUAL_DISK_FLAG flags, ULONG provider_flags,
     void *parameters, LPOVERLAPPED overlapped, PHANDLE handle);
    DWORD(WINAPI *OpenVirtualDisk)
    (PVIRTUAL_STORAGE_TYPE type, PCWSTR path, VIRTUAL_DISK_ACCESS_MASK access,
     OPEN_VIRTUAL_DISK_FLAG flags, POPEN_VIRTUAL_DISK_PARAMETERS parameters, PHANDLE handle);
    DWORD(WINAPI *GetVirtualDiskInformation)
    (HANDLE disk, PULONG size, PGET_VIRTUAL_DISK_INFO info, PULONG used);
    DWORD(WINAPI *ResizeVirtualDisk)
    (HANDLE disk, RESIZE_VIRTUAL_DISK_FLAG flags, PRESIZE_VIRTUAL_DISK_PARAMETERS parameters,
     LPOVERLAPPED overlapped);
};

/* Loads the DLLs in `which` (HCSAPI_*) and resolves their entry points. A missing DLL or
 * function is -ENOSYS with "Hyper-V platform not available: computecore.dll: <why>"; *api
 * is then left unloaded. Test hook: with EVM_HCS_DLL_DIR set, the DLLs are loaded from that
 * directory instead of system32 (see hcsapi_win.c). */
int hcsapi_load(struct hcsapi *api, unsigned which, struct evm_err *err);

/* Releases what hcsapi_load loaded; safe on a zeroed or unloaded struct. */
void hcsapi_unload(struct hcsapi *api);

/* ---- strings ----------------------------------------------------------------------------- */

/* A malloc'd UTF-8 copy of a UTF-16 string; NULL for NULL, for a string that is not valid
 * UTF-16, or when out of memory. */
char *hcs_utf8(const wchar_t *w);

/* Frees a string returned by computecore.dll (HcsWaitForOperationResult,
 * HcsGetServiceProperties, …): LocalFree, as Microsoft's reference says. NULL is fine. */
void hcs_free_hcs_string(PWSTR s);

/* Frees a string returned by computenetwork.dll (CoTaskMemFree, as its reference says). */
void hcs_free_hcn_string(PWSTR s);

/* The absolute Windows form of a path ('/' becomes '\\'), malloc'd in both encodings
 * (either out pointer may be NULL). */
int hcs_full_path(const char *path, wchar_t **wide, char **utf8, struct evm_err *err);

/* ---- GUIDs -------------------------------------------------------------------------------- */

#define HCS_GUID_TEXT_LEN 36 /* "XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX" */

/* The text form of 16 random bytes made a version-4 GUID (RFC 4122): upper case, no braces,
 * as WSL writes compute system ids. bytes is modified (version and variant bits). */
void hcs_guid_from_random(uint8_t bytes[16], char out[HCS_GUID_TEXT_LEN + 1]);

/* A fresh random GUID in text form. */
int hcs_guid_new(char out[HCS_GUID_TEXT_LEN + 1], struct evm_err *err);

/* Parses "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", optionally in braces, either case, into a
 * GUID; -EINVAL otherwise. */
int hcs_guid_parse(const char *text, GUID *out);

/* The text form of a GUID (upper case, no braces). */
void hcs_guid_format(const GUID *g, char out[HCS_GUID_TEXT_LEN + 1]);

#endif
