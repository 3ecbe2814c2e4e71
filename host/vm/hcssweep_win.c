/* hcssweep_win.c — the stale sweep (hcssweep_win.h): HcsEnumerateComputeSystems with an
 * Owner query, then open, terminate (waited for, bounded) and close each one; then the
 * endpoint sweep of hcn_win.c. */
#include "vm/hcssweep_win.h"

#include <errno.h>
#include <stdlib.h>

#include "log.h"
#include "vm/hcn_win.h"
#include "vm/hcsjson.h"
#include "vm/hcsop_win.h"
#include "vm/hresult.h"
#include "winutil.h"

#define OWNER_QUERY L"{\"Owners\":[\"" _CRT_WIDE(HCS_OWNER) L"\"]}"
#define MAX_STALE 16
#define TERMINATE_WAIT_MS 30000

static HRESULT call_enumerate(const struct hcsapi *api, HCS_OPERATION op, void *arg)
{
    return api->HcsEnumerateComputeSystems((const wchar_t *)arg, op);
}

static HRESULT call_terminate(const struct hcsapi *api, HCS_OPERATION op, void *arg)
{
    return api->HcsTerminateComputeSystem((HCS_SYSTEM)arg, op, NULL);
}

/* true when the system was there and is gone now. */
static bool remove_system(const struct hcsapi *api, const char *id)
{
    int e = 0;
    wchar_t *w = win_wide(id, &e);
    HCS_SYSTEM s = NULL;
    HRESULT hr = w ? api->HcsOpenComputeSystem(w, GENERIC_ALL, &s) : E_OUTOFMEMORY;
    free(w);
    struct evm_err err = {0};
    if (FAILED(hr)) {
        hcsop_errf(&err, "HcsOpenComputeSystem", (uint32_t)hr, NULL);
        if ((uint32_t)hr != HCS_E_SYSTEM_NOT_FOUND)
            log_warn("vm: stale VM %s: %s", id, err.msg);
        return false;
    }
    uint32_t thr = 0;
    int r = hcsop_run(api, "HcsTerminateComputeSystem", call_terminate, s, TERMINATE_WAIT_MS, &thr,
                      NULL, &err);
    api->HcsCloseComputeSystem(s);
    if (r < 0 && !hcsop_already_stopped(thr)) {
        log_warn("vm: stale VM %s: %s", id, err.msg);
        return false;
    }
    log_warn("vm: terminated VM %s, left running by an earlier agent (Owner %s)", id, HCS_OWNER);
    return true;
}

void hcs_sweep_stale(const struct hcsapi *api)
{
    char *doc = NULL, ids[MAX_STALE][HCSJSON_ID_MAX];
    unsigned n = 0, removed = 0, endpoints = 0;
    struct evm_err err = {0};
    if (hcsop_run(api, "HcsEnumerateComputeSystems", call_enumerate, (void *)OWNER_QUERY,
                  hcsop_timeout_ms(), NULL, &doc, &err) < 0 ||
        hcsjson_systems_of_owner(doc, HCS_OWNER, ids, MAX_STALE, &n, &err) < 0)
        log_warn("vm: sweeping stale VMs: %s", err.msg);
    free(doc);
    for (unsigned i = 0; i < n; i++)
        removed += remove_system(api, ids[i]);
    evm_err_clear(&err);
    if (api->HcnEnumerateEndpoints && hcn_sweep(api, HCN_ENDPOINT_PREFIX, &endpoints, &err) < 0)
        log_warn("vm: sweeping stale endpoints: %s", err.msg);
    log_debug("vm: stale sweep: %u of %u VMs and %u endpoints removed", removed, n, endpoints);
}
