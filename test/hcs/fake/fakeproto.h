/* fakeproto.h — what the three simulated HCS DLLs (computecore, computenetwork, virtdisk)
 * share. TEST ONLY, never shipped: HCS cannot exist on Linux, so these DLLs simulate it for
 * the agent under wine (README.md). Each DLL links its own copy of fakeproto.c.
 *
 * Owns: the configuration read from the environment at DLL load (EVM_FAKE_HCS_STATE,
 * EVM_FAKE_HCS_INJECT, EVM_FAKE_HCS_HELPER, EVM_FAKE_HCS_MAX_SCHEMA), the calls.log every
 * API call appends to, the state file shared by all DLLs and processes (state.json under a
 * named mutex), the result strings handed to callers, the JSON-lines TCP protocol with the
 * Linux-side helper, running a Linux program from wine, and file identities for grants. */
#ifndef EVM_FAKEPROTO_H
#define EVM_FAKEPROTO_H

#include <winsock2.h>
#include <windows.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "err.h"

/* HRESULTs (HCSHResult.md; HCN values from x/sys/windows zerrors). mingw defines none. */
#define FAKE_HR(x) ((HRESULT)(x))
#define HCS_E_TERMINATED_DURING_START FAKE_HR(0x80370100L)
#define HCS_E_INVALID_STATE FAKE_HR(0x80370105L)
#define HCS_E_TERMINATED FAKE_HR(0x80370107L)
#define HCS_E_INVALID_JSON FAKE_HR(0x8037010DL)
#define HCS_E_SYSTEM_NOT_FOUND FAKE_HR(0x8037010EL)
#define HCS_E_SYSTEM_ALREADY_EXISTS FAKE_HR(0x8037010FL)
#define HCS_E_SYSTEM_ALREADY_STOPPED FAKE_HR(0x80370110L)
#define HCS_E_OPERATION_NOT_STARTED FAKE_HR(0x80370115L)
#define HCS_E_OPERATION_ALREADY_STARTED FAKE_HR(0x80370116L)
#define HCS_E_OPERATION_PENDING FAKE_HR(0x80370117L)
#define HCS_E_OPERATION_TIMEOUT FAKE_HR(0x80370118L)
#define HCS_E_OPERATION_SYSTEM_CALLBACK_ALREADY_SET FAKE_HR(0x80370119L)
#define HCS_E_ACCESS_DENIED FAKE_HR(0x8037011BL)
#define HCS_E_GUEST_CRITICAL_ERROR FAKE_HR(0x8037011CL)
#define HCS_E_SERVICE_DISCONNECT FAKE_HR(0x8037011EL)
#define HCN_E_NETWORK_NOT_FOUND FAKE_HR(0x803B0001L)
#define HCN_E_ENDPOINT_NOT_FOUND FAKE_HR(0x803B0002L)
#define HCN_E_INVALID_ENDPOINT FAKE_HR(0x803B000CL)
/* What the fake fails a start with when a file was not granted: the code [E] saw through
 * vmcompute (0xC0370110) in its HCS_E_ form. Real HCS's code is unconfirmed (README). */
#define FAKE_E_NOT_GRANTED HCS_E_SYSTEM_ALREADY_STOPPED

/* The Default Switch's well-known id (research §(c)6). */
#define FAKE_DEFAULT_SWITCH_ID "C08CB7B8-9B3C-408E-8E30-5E16A3AEB444"
/* The id the Default Switch gets under EVM_FAKE_HCS_INJECT network=BYNAME. */
#define FAKE_RENAMED_SWITCH_ID "5A1E0D7C-2F4B-4C83-9A61-0D6E8B7C4F21"

enum fake_network { FAKE_NET_DEFAULT = 0, FAKE_NET_NONE, FAKE_NET_BYNAME };

/* EVM_FAKE_HCS_INJECT, parsed. Times are milliseconds after the start completed, -1: off. */
struct fake_inject {
    bool create_invalid_json; /* create=INVALID_JSON */
    bool start_access_denied; /* start=ACCESS_DENIED */
    bool start_hang;          /* start=HANG */
    bool guest_ignore_stop;   /* guest=IGNORE_STOP */
    bool shutdown_no_ic;      /* shutdown=NO_IC: no shutdown integration component */
    bool stale;               /* stale=1 */
    long disconnect_ms;       /* event=SERVICE_DISCONNECT@<ms> */
    long crash_ms;            /* event=CRASH@<ms> */
    enum fake_network network;
};

struct fake_config {
    wchar_t state_dir[MAX_PATH]; /* Windows path, no trailing backslash */
    char state_dir_u8[MAX_PATH * 3];
    char helper[64];           /* "127.0.0.1:<port>", "" = simulate the guest in-process */
    unsigned max_schema_minor; /* claims 2.1 .. 2.<this> */
    char inject_raw[256];
    struct fake_inject inject;
    char config_errors[256]; /* unknown injections etc., logged at the first call */
};

/* Reads the environment. Never fails: problems are kept in config_errors. */
void fake_config_load(struct fake_config *c);

/* Appends one line to <state>\calls.log: "pid=<pid> <text>". Thread- and process-safe
 * (one append per line). */
void fake_log(const struct fake_config *c, const char *fmt, ...) EVM_PRINTF(2, 3);

/* Name of a known HRESULT ("HCS_E_INVALID_JSON"), or NULL. */
const char *fake_hr_name(HRESULT hr);
/* "0x8037010D HCS_E_INVALID_JSON" into buf. */
const char *fake_hr_text(HRESULT hr, char *buf, size_t n);

/* UTF-16 → malloc'd UTF-8; NULL for NULL or invalid UTF-16 (*invalid set when given). */
char *fake_u8(const wchar_t *w, bool *invalid);
/* UTF-8 → malloc'd UTF-16; NULL on failure. */
wchar_t *fake_w(const char *s);
/* Result strings for callers: computecore's are LocalAlloc'd (HcsWaitForOperationResult.md:
 * "release with LocalFree"), computenetwork's CoTaskMemAlloc'd (HCN reference). */
PWSTR fake_local_wstr(const char *u8);
PWSTR fake_cotask_wstr(const char *u8);

/* A ResultError document {"Error":<int32>,"ErrorMessage":…,"ErrorEvents":[{…}]}, malloc'd. */
char *fake_result_error(HRESULT hr, const char *message);

/* GUIDs: "XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX" (uppercase, no braces). */
void fake_guid_format(const GUID *g, char out[37]);
bool fake_guid_parse(const char *s, GUID *g); /* with or without braces, either case */
bool fake_guid_new(GUID *g);

/* ---- the shared state file ---------------------------------------------------------- */

/* state.json: {"systems":[…],"endpoints":[…],"grants":[…],"stale_seeded":bool,"seq":n}.
 * fake_state_begin takes the named mutex and loads it (an empty state when the file does
 * not exist); fake_state_end saves it when save is true and releases the mutex. */
struct fake_state {
    HANDLE mutex;
    cJSON *root;
};
int fake_state_begin(const struct fake_config *c, struct fake_state *st, struct evm_err *err);
int fake_state_end(const struct fake_config *c, struct fake_state *st, bool save,
                   struct evm_err *err);
/* The array named name in the state (created when missing). */
cJSON *fake_state_array(struct fake_state *st, const char *name);
/* Seeds the stale compute system and endpoint once per state dir (stale=1). */
void fake_state_seed_stale(const struct fake_config *c, struct fake_state *st);
/* The stale compute system's id and endpoint name seeded by stale=1. */
#define FAKE_STALE_SYSTEM_ID "5E1F5E1F-0000-4000-8000-0000000057A1"
#define FAKE_STALE_ENDPOINT_ID "5E1F5E1F-0000-4000-8000-00000000E9D1"
#define FAKE_STALE_ENDPOINT_NAME "ephemerd-vm-stale"

/* This process as recorded in the state: pid and creation time. */
void fake_process_stamp(DWORD *pid, uint64_t *created);
/* True when the process pid with that creation time still runs. */
bool fake_process_alive(DWORD pid, uint64_t created);
/* A compute system's host process in its state entry ("HostPid", and "HostCreated" as a hex
 * string: a FILETIME does not fit a JSON number). pid 0 is the service itself (stale=1). */
void fake_stamp_put(cJSON *entry, DWORD pid, uint64_t created);
void fake_stamp_get(const cJSON *entry, DWORD *pid, uint64_t *created);
/* Whether a compute system of the state still exists: hosted by the service or by a live
 * process, or left by a dead process without ShouldTerminateOnLastHandleClosed and not
 * stopped (the service keeps such a VM). */
bool fake_system_exists(const cJSON *entry);

/* ---- files ---------------------------------------------------------------------------- */

/* A file's identity ("<volume serial>:<file index>", which a rename-over replaces), and
 * its full path, uppercased for comparison. */
int fake_file_identity(const wchar_t *path, char *id, size_t idn, struct evm_err *err);
int fake_full_path_key(const wchar_t *path, char *key, size_t n, struct evm_err *err);

/* The Unix path of a Windows path under wine (wine_get_unix_file_name), malloc'd. */
char *fake_unix_path(const wchar_t *path, struct evm_err *err);

/* Runs argv (argv[0] a program found in the Linux PATH) on the Linux side of wine, waits up
 * to timeout_ms, and returns its exit status in *status and the start of its output in out.
 * Wine starts ELF programs from CreateProcessW but returns no process handle for them, so
 * the program runs under /bin/sh, which records the status in a file the fake polls. */
int fake_run_unix(const struct fake_config *c, const char *const *argv, DWORD timeout_ms,
                  int *status, char *out, size_t outn, struct evm_err *err);

/* ---- the JSON-lines protocol with the helper -------------------------------------------- */

int fake_wsa_init(struct evm_err *err);
/* Connects to "host:port" (IPv4). */
int fake_tcp_connect(const char *hostport, SOCKET *out, struct evm_err *err);
/* Sends all of buf (the socket may be non-blocking: waits for room). */
int fake_send_all(SOCKET s, const void *buf, size_t len, struct evm_err *err);
/* Sends a cJSON object as one line. */
int fake_send_json(SOCKET s, const cJSON *obj, struct evm_err *err);

/* Accumulates bytes and hands out whole lines ('\n'-terminated, CR stripped). */
struct fake_lines {
    char buf[1 << 16];
    size_t len;
};
/* Copies the next complete line into line (NUL-terminated, truncated to n); false when
 * none is complete yet. A line longer than the buffer is returned in pieces. */
bool fake_lines_next(struct fake_lines *lb, char *line, size_t n);
/* Appends received bytes; the caller drains with fake_lines_next first. */
size_t fake_lines_room(const struct fake_lines *lb);

#endif
