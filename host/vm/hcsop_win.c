/* hcsop_win.c — the HCS operation wrapper (hcsop_win.h). One operation per call, never
 * shared; its handle is closed on every path. Result documents arrive as UTF-16 strings the
 * caller frees (hcs_free_hcs_string) and leave here as malloc'd UTF-8. */
#include "vm/hcsop_win.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "vm/hcsjson.h"
#include "vm/hresult.h"

#define TIMEOUT_ENV "EVM_HCS_OP_TIMEOUT_MS"
#define DESCRIBE_MAX 360

DWORD hcsop_timeout_ms(void)
{
    const char *s = getenv(TIMEOUT_ENV);
    if (!s || !*s)
        return HCSOP_DEFAULT_TIMEOUT_MS;
    char *end;
    unsigned long v = strtoul(s, &end, 10);
    if (*end || v == 0 || v >= INFINITE)
        return HCSOP_DEFAULT_TIMEOUT_MS;
    return (DWORD)v;
}

int hcsop_errno(uint32_t hr)
{
    switch (hr) {
    case HCS_E_ACCESS_DENIED:
    case (uint32_t)E_ACCESSDENIED:
        return EACCES;
    case HCS_E_OPERATION_TIMEOUT:
    case HCS_E_CONNECTION_TIMEOUT:
        return ETIMEDOUT;
    case HCS_E_SYSTEM_NOT_FOUND:
    case HCN_E_NETWORK_NOT_FOUND:
    case HCN_E_ENDPOINT_NOT_FOUND:
        return ENOENT;
    case HCS_E_SYSTEM_ALREADY_EXISTS:
    case HCN_E_NETWORK_ALREADY_EXISTS:
        return EEXIST;
    case HCS_E_INVALID_JSON:
    case (uint32_t)E_INVALIDARG:
        return EINVAL;
    case HCS_E_HYPERV_NOT_INSTALLED:
    case HCS_E_SERVICE_NOT_AVAILABLE:
        return ENOSYS;
    case (uint32_t)E_OUTOFMEMORY:
        return ENOMEM;
    default:
        return EIO;
    }
}

bool hcsop_already_stopped(uint32_t hr)
{
    return hr == HCS_E_SYSTEM_ALREADY_STOPPED || hr == HCS_E_SYSTEM_ALREADY_STOPPED_LEGACY ||
           hr == HCS_E_SYSTEM_NOT_FOUND || hr == HCS_E_OPERATION_PENDING ||
           hr == HCS_E_OPERATION_PENDING_LEGACY;
}

int hcsop_errf(struct evm_err *err, const char *what, uint32_t hr, const char *result)
{
    char name[64], text[DESCRIBE_MAX];
    hresult_format(hr, name, sizeof(name));
    hcsjson_describe_result(result, text, sizeof(text));
    return evm_errf(err, hcsop_errno(hr), "%s: %s%s%s", what, name, text[0] ? ": " : "", text);
}

/* Takes a result string from computecore.dll: UTF-8 into *out (if wanted), then frees it. */
static void take_result(PWSTR doc, char **out)
{
    if (out) {
        free(*out);
        *out = hcs_utf8(doc);
    }
    hcs_free_hcs_string(doc);
}

static HCS_OPERATION new_operation(const struct hcsapi *api, const char *what, struct evm_err *err)
{
    HCS_OPERATION op = api->HcsCreateOperation(NULL, NULL);
    if (!op)
        evm_errf(err, ENOMEM, "%s: HcsCreateOperation failed (out of memory)", what);
    return op;
}

/* The call itself failed: the operation may still hold a result document saying why. */
static uint32_t call_failed(const struct hcsapi *api, HCS_OPERATION op, HRESULT call_hr, char **doc)
{
    PWSTR w = NULL;
    api->HcsGetOperationResult(op, &w);
    take_result(w, doc);
    return (uint32_t)call_hr;
}

/* The call, then (when it started) the wait for its result. */
static uint32_t call_and_wait(const struct hcsapi *api, HCS_OPERATION op, hcsop_call_fn call,
                              void *arg, DWORD timeout_ms, char **doc)
{
    HRESULT c = call(api, op, arg);
    if (FAILED(c))
        return call_failed(api, op, c, doc);
    PWSTR w = NULL;
    HRESULT h = api->HcsWaitForOperationResult(op, timeout_ms, &w);
    take_result(w, doc);
    return (uint32_t)h;
}

int hcsop_run(const struct hcsapi *api, const char *what, hcsop_call_fn call, void *arg,
              DWORD timeout_ms, uint32_t *hr, char **result, struct evm_err *err)
{
    char *doc = NULL;
    HCS_OPERATION op = new_operation(api, what, err);
    uint32_t h = (uint32_t)E_OUTOFMEMORY;
    int r = -ENOMEM;
    if (op) {
        h = call_and_wait(api, op, call, arg, timeout_ms, &doc);
        /* HcsCancelOperation is E_NOTIMPL: an operation still running when the wait ends
         * keeps running in HCS; closing the handle only drops our interest in its result. */
        api->HcsCloseOperation(op);
        r = 0;
    }
    if (op && h == HCS_E_OPERATION_TIMEOUT)
        r = evm_errf(err, ETIMEDOUT, "%s: no result within %lu ms (HCS_E_OPERATION_TIMEOUT)", what,
                     (unsigned long)timeout_ms);
    else if (op && FAILED((HRESULT)h))
        r = hcsop_errf(err, what, h, doc);
    if (hr)
        *hr = h;
    if (result)
        *result = doc;
    else
        free(doc);
    return r;
}

int hcsop_submit(const struct hcsapi *api, const char *what, hcsop_call_fn call, void *arg,
                 uint32_t *hr, struct evm_err *err)
{
    char *doc = NULL;
    HCS_OPERATION op = new_operation(api, what, err);
    uint32_t h = (uint32_t)E_OUTOFMEMORY;
    int r = -ENOMEM;
    if (op) {
        HRESULT c = call(api, op, arg);
        h = FAILED(c) ? call_failed(api, op, c, &doc) : (uint32_t)c;
        api->HcsCloseOperation(op);
        r = FAILED((HRESULT)h) ? hcsop_errf(err, what, h, doc) : 0;
    }
    if (hr)
        *hr = h;
    free(doc);
    return r;
}
