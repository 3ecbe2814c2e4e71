/* hcsjson.h — reading the JSON documents the Host Compute Service and the host network
 * service hand back: an operation's ResultError as one readable line, a SystemExited
 * event's SystemExitStatus, the ids of an enumeration, an endpoint's MAC address. Portable
 * (cJSON, no Windows API); the backend converts the UTF-16 documents to UTF-8 first.
 *
 * Shapes: hcsshim internal/hcs (hcsResult, ErrorEvent, systemExitStatus), the HCS schema
 * reference (ResultError, SystemExitStatus, Properties), hcsshim hcn (HostComputeEndpoint). */
#ifndef EVM_HCSJSON_H
#define EVM_HCSJSON_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "vm/vm.h"

/* A ResultError {"Error":hr,"ErrorMessage":"…","ErrorEvents":[{"Message":"…",…}],…} as one
 * line: "ErrorMessage; ErrorEvents[0].Message; …" (line breaks and runs of blanks folded to
 * one space, repeats left out, cut with "..." to fit n bytes). Without any message, the
 * Error HRESULT's hresult_format text. "" for NULL or an empty document; a document that is
 * not a JSON object is shown as "unreadable result: <printable excerpt>". Never fails. */
void hcsjson_describe_result(const char *result_json, char *buf, size_t n);

/* A SystemExitStatus {"Status":hr,"ExitType":"GracefulExit|ForcedExit|UnexpectedExit|None|
 * Unknown",…}. */
struct hcs_exit {
    uint32_t status;    /* an HRESULT (HCS may write it as a negative int32) */
    char exit_type[24]; /* "" when absent (older builds); longer values are cut */
};

/* -EPROTO for NULL, an empty document, not a JSON object, or a Status that is not an
 * HRESULT-sized integer. A missing Status reads as 0. */
int hcsjson_parse_exit(const char *json, struct hcs_exit *out, struct evm_err *err);

/* GracefulExit -> VM_EXIT_POWEROFF, ForcedExit -> VM_EXIT_FORCED, anything else ->
 * VM_EXIT_UNEXPECTED. A crash event (SystemCrashInitiated/Report) is VM_EXIT_CRASH, decided
 * by the caller from the event type. */
enum vm_exit_kind hcsjson_exit_kind(const struct hcs_exit *e);

#define HCSJSON_ID_MAX 40 /* a GUID is 36 characters */

/* HcsEnumerateComputeSystems' result [{"Id":"…","Owner":"…","State":"…"},…] -> the ids of
 * the systems whose Owner is exactly owner, at most max of them in ids (a warning is logged
 * for the ones left out, and for ids too long to hold). NULL, "" and JSON null are an empty
 * list; anything else that is not an array is -EPROTO. */
int hcsjson_systems_of_owner(const char *json, const char *owner, char ids[][HCSJSON_ID_MAX],
                             unsigned max, unsigned *n, struct evm_err *err);

/* An HCN endpoint's properties {"ID":…,"MacAddress":"00-15-5D-12-34-56",…} -> the MAC in
 * the form the VM document wants: upper-case hex pairs joined by '-' (':' is accepted in the
 * input). -EPROTO when it is missing or malformed, -ENOSPC when n < 18. */
int hcsjson_endpoint_mac(const char *json, char *mac, size_t n, struct evm_err *err);

#endif
