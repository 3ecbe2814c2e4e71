/* hcsop_win.h — one HCS call as an operation: HcsCreateOperation → the call →
 * HcsWaitForOperationResult with a bounded timeout → HcsCloseOperation, and a failure as
 * one readable line: what was asked, the HRESULT by name and value (hresult.h) and the
 * result document's messages (hcsjson.h). Windows only. */
#ifndef EVM_HCSOP_WIN_H
#define EVM_HCSOP_WIN_H

#include <stdbool.h>
#include <stdint.h>

#include "err.h"
#include "vm/hcsapi_win.h"

/* The bound on every wait: 4 minutes, hcsshim's default for create and start. Test hook:
 * EVM_HCS_OP_TIMEOUT_MS (a positive number of milliseconds) overrides it, so that a test of
 * a start that never completes does not take 4 minutes. */
#define HCSOP_DEFAULT_TIMEOUT_MS 240000u
DWORD hcsop_timeout_ms(void);

/* Issues the HCS call that op tracks; returns the call's own HRESULT. */
typedef HRESULT (*hcsop_call_fn)(const struct hcsapi *api, HCS_OPERATION op, void *arg);

/* Runs one operation and waits for its result up to timeout_ms. *hr (may be NULL) receives
 * the outcome: S_OK, the call's failure, or the wait's (HCS_E_OPERATION_TIMEOUT, or the
 * failure of what the operation tracked). *result (may be NULL) receives the result
 * document in UTF-8 (malloc'd; NULL when there is none), on success and on failure.
 * Returns 0, or a negative errno with err "<what>: HCS_E_… (0x…): <messages>". */
int hcsop_run(const struct hcsapi *api, const char *what, hcsop_call_fn call, void *arg,
              DWORD timeout_ms, uint32_t *hr, char **result, struct evm_err *err);

/* The same without waiting: the operation is closed once HCS has accepted the call, as
 * hcsshim does for shutdown and terminate, whose end the system's exit event reports. A call
 * HCS refused at once fails here with its result document. */
int hcsop_submit(const struct hcsapi *api, const char *what, hcsop_call_fn call, void *arg,
                 uint32_t *hr, struct evm_err *err);

/* Records a failed HCS call in err as one line and returns the negative errno:
 * "<what>: <hresult_format(hr)>[: <hcsjson_describe_result(result)>]". */
int hcsop_errf(struct evm_err *err, const char *what, uint32_t hr, const char *result);

/* The errno closest to an HRESULT (EACCES, ETIMEDOUT, ENOENT, …; EIO otherwise). */
int hcsop_errno(uint32_t hr);

/* Whether a stop request's HRESULT means the system is already gone: SYSTEM_ALREADY_STOPPED
 * (either form), SYSTEM_NOT_FOUND, or an operation already pending on it. */
bool hcsop_already_stopped(uint32_t hr);

#endif
