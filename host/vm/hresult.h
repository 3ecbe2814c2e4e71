/* hresult.h — the HRESULTs the HCS backend meets (compute service, host networking, a few
 * generic COM ones), declared here because mingw-w64's headers define none of the HCS/HCN
 * ones, and their readable names for error messages. Portable: no Windows headers, so the
 * naming is unit-tested natively as well as under wine.
 *
 * Values: learn.microsoft.com/virtualization/api/hcs/Reference/HCSHResult (HCS_E_*), the
 * Windows SDK's winerror.h (HCN_E_*, E_*), WSL's wdk.h (VM_E_INVALID_STATE, undocumented),
 * hcsshim's internal/hcs/errors.go (the vmcompute.dll forms 0xC037xxxx). */
#ifndef EVM_HRESULT_H
#define EVM_HRESULT_H

#include <stddef.h>
#include <stdint.h>

/* Host Compute Service (facility 0x37). */
#define HCS_E_TERMINATED_DURING_START 0x80370100u /* exited while starting */
#define HCS_E_IMAGE_MISMATCH 0x80370101u
#define HCS_E_HYPERV_NOT_INSTALLED 0x80370102u /* a required Windows feature is missing */
#define HCS_E_INVALID_STATE 0x80370105u        /* the operation is invalid in this state */
#define HCS_E_UNEXPECTED_EXIT 0x80370106u
#define HCS_E_TERMINATED 0x80370107u /* forcefully exited */
#define HCS_E_CONNECT_FAILED 0x80370108u
#define HCS_E_CONNECTION_TIMEOUT 0x80370109u
#define HCS_E_CONNECTION_CLOSED 0x8037010Au
#define HCS_E_UNKNOWN_MESSAGE 0x8037010Bu
#define HCS_E_UNSUPPORTED_PROTOCOL_VERSION 0x8037010Cu
#define HCS_E_INVALID_JSON 0x8037010Du /* the document was refused */
#define HCS_E_SYSTEM_NOT_FOUND 0x8037010Eu
#define HCS_E_SYSTEM_ALREADY_EXISTS 0x8037010Fu  /* id reuse: a stale system is left */
#define HCS_E_SYSTEM_ALREADY_STOPPED 0x80370110u /* duplicate shutdown/terminate */
#define HCS_E_PROTOCOL_ERROR 0x80370111u
#define HCS_E_INVALID_LAYER 0x80370112u
#define HCS_E_WINDOWS_INSIDER_REQUIRED 0x80370113u
#define HCS_E_SERVICE_NOT_AVAILABLE 0x80370114u
#define HCS_E_OPERATION_NOT_STARTED 0x80370115u
#define HCS_E_OPERATION_ALREADY_STARTED 0x80370116u
#define HCS_E_OPERATION_PENDING 0x80370117u /* result asked for before the end */
#define HCS_E_OPERATION_TIMEOUT 0x80370118u /* HcsWaitForOperationResult timed out */
#define HCS_E_OPERATION_SYSTEM_CALLBACK_ALREADY_SET 0x80370119u
#define HCS_E_OPERATION_RESULT_ALLOCATION_FAILED 0x8037011Au
#define HCS_E_ACCESS_DENIED 0x8037011Bu /* not an administrator / Hyper-V Administrators */
#define HCS_E_GUEST_CRITICAL_ERROR 0x8037011Cu
#define HCS_E_PROCESS_INFO_NOT_AVAILABLE 0x8037011Du
#define HCS_E_SERVICE_DISCONNECT 0x8037011Eu /* the compute service went away */
#define HCS_E_PROCESS_ALREADY_STOPPED 0x8037011Fu
/* The same conditions as returned by the older vmcompute.dll ABI (hcsshim's
 * ErrVmcomputeAlreadyStopped / ErrVmcomputeOperationPending): seen in the wild, so named. */
#define HCS_E_SYSTEM_ALREADY_STOPPED_LEGACY 0xC0370110u
#define HCS_E_OPERATION_PENDING_LEGACY 0xC0370103u

/* Host Compute Network (facility 0x3B). */
#define HCN_E_NETWORK_NOT_FOUND 0x803B0001u
#define HCN_E_ENDPOINT_NOT_FOUND 0x803B0002u
#define HCN_E_NETWORK_ALREADY_EXISTS 0x803B0010u
#define HCN_E_ENDPOINT_ALREADY_ATTACHED 0x803B0014u

/* Undocumented: the VM is in no state for the request (e.g. terminated). */
#define VM_E_INVALID_STATE 0x80041001u

#define HRESULT_FACILITY_HCS 0x37u
#define HRESULT_FACILITY_HCN 0x3Bu
#define HRESULT_FACILITY_WIN32 0x7u

/* The constant's name ("HCS_E_INVALID_JSON"), or NULL for a value this file does not know. */
const char *hresult_name(uint32_t hr);

/* Readable text for hr in buf (n bytes, always NUL-terminated when n > 0, truncated to fit):
 *   known:            "HCS_E_INVALID_JSON (0x8037010D)"
 *   Win32 facility:   "Win32 error 1234 (0x800704D2)"
 *   HCS/HCN facility: "HCS error 0x8037FFFF", "HCN error 0x803BFFFF"
 *   anything else:    "0x12345678" */
void hresult_format(uint32_t hr, char *buf, size_t n);

#endif
