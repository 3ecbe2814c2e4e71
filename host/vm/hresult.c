/* hresult.c — names and readable text for the HRESULTs of hresult.h (see there). */
#include "vm/hresult.h"

#include <stdio.h>

struct hr_name {
    uint32_t hr;
    const char *name;
};

#define HR(x)                                                                                      \
    {                                                                                              \
        x, #x                                                                                      \
    }

static const struct hr_name hr_names[] = {
    /* generic COM results HCS returns too (winerror.h) */
    {0x00000000u, "S_OK"},
    {0x80004001u, "E_NOTIMPL"},
    {0x80004003u, "E_POINTER"},
    {0x80004004u, "E_ABORT"},
    {0x80004005u, "E_FAIL"},
    {0x8000FFFFu, "E_UNEXPECTED"},
    {0x80070005u, "E_ACCESSDENIED"},
    {0x80070006u, "E_HANDLE"},
    {0x8007000Eu, "E_OUTOFMEMORY"},
    {0x80070057u, "E_INVALIDARG"},
    HR(HCS_E_TERMINATED_DURING_START),
    HR(HCS_E_IMAGE_MISMATCH),
    HR(HCS_E_HYPERV_NOT_INSTALLED),
    HR(HCS_E_INVALID_STATE),
    HR(HCS_E_UNEXPECTED_EXIT),
    HR(HCS_E_TERMINATED),
    HR(HCS_E_CONNECT_FAILED),
    HR(HCS_E_CONNECTION_TIMEOUT),
    HR(HCS_E_CONNECTION_CLOSED),
    HR(HCS_E_UNKNOWN_MESSAGE),
    HR(HCS_E_UNSUPPORTED_PROTOCOL_VERSION),
    HR(HCS_E_INVALID_JSON),
    HR(HCS_E_SYSTEM_NOT_FOUND),
    HR(HCS_E_SYSTEM_ALREADY_EXISTS),
    HR(HCS_E_SYSTEM_ALREADY_STOPPED),
    HR(HCS_E_PROTOCOL_ERROR),
    HR(HCS_E_INVALID_LAYER),
    HR(HCS_E_WINDOWS_INSIDER_REQUIRED),
    HR(HCS_E_SERVICE_NOT_AVAILABLE),
    HR(HCS_E_OPERATION_NOT_STARTED),
    HR(HCS_E_OPERATION_ALREADY_STARTED),
    HR(HCS_E_OPERATION_PENDING),
    HR(HCS_E_OPERATION_TIMEOUT),
    HR(HCS_E_OPERATION_SYSTEM_CALLBACK_ALREADY_SET),
    HR(HCS_E_OPERATION_RESULT_ALLOCATION_FAILED),
    HR(HCS_E_ACCESS_DENIED),
    HR(HCS_E_GUEST_CRITICAL_ERROR),
    HR(HCS_E_PROCESS_INFO_NOT_AVAILABLE),
    HR(HCS_E_SERVICE_DISCONNECT),
    HR(HCS_E_PROCESS_ALREADY_STOPPED),
    HR(HCS_E_SYSTEM_ALREADY_STOPPED_LEGACY),
    HR(HCS_E_OPERATION_PENDING_LEGACY),
    HR(HCN_E_NETWORK_NOT_FOUND),
    HR(HCN_E_ENDPOINT_NOT_FOUND),
    HR(HCN_E_NETWORK_ALREADY_EXISTS),
    HR(HCN_E_ENDPOINT_ALREADY_ATTACHED),
    HR(VM_E_INVALID_STATE),
};

const char *hresult_name(uint32_t hr)
{
    for (size_t i = 0; i < sizeof(hr_names) / sizeof(hr_names[0]); i++)
        if (hr_names[i].hr == hr)
            return hr_names[i].name;
    return NULL;
}

/* The facility field (bits 16..28); also right for the 0xC... NTSTATUS-style forms. */
static unsigned facility_of(uint32_t hr)
{
    return (hr >> 16) & 0x1FFFu;
}

static const char *facility_label(uint32_t hr)
{
    switch (facility_of(hr)) {
    case HRESULT_FACILITY_HCS:
        return "HCS";
    case HRESULT_FACILITY_HCN:
        return "HCN";
    default:
        return NULL;
    }
}

/* A failure made from a Win32 error code (HRESULT_FROM_WIN32): 0x8007xxxx. */
static int is_from_win32(uint32_t hr)
{
    return (hr & 0xFFFF0000u) == (0x80000000u | (HRESULT_FACILITY_WIN32 << 16));
}

void hresult_format(uint32_t hr, char *buf, size_t n)
{
    if (!buf || n == 0)
        return;
    const char *name = hresult_name(hr);
    const char *facility = facility_label(hr);
    if (name)
        snprintf(buf, n, "%s (0x%08X)", name, (unsigned)hr);
    else if (is_from_win32(hr))
        snprintf(buf, n, "Win32 error %u (0x%08X)", (unsigned)(hr & 0xFFFFu), (unsigned)hr);
    else if (facility)
        snprintf(buf, n, "%s error 0x%08X", facility, (unsigned)hr);
    else
        snprintf(buf, n, "0x%08X", (unsigned)hr);
}
