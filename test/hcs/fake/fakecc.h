/* fakecc.h — the fake computecore's internals shared by computecore.c (the API, operations,
 * handles, events, the state of compute systems) and fakevm.c (the VM worker: start checks,
 * the COM1 pipe, the helper connection and the console relay). TEST ONLY. */
#ifndef EVM_FAKECC_H
#define EVM_FAKECC_H

#include "fakeproto.h"

#include <computecore.h>

enum fobj_kind { FOBJ_OP = 1, FOBJ_SYSTEM_HANDLE = 2 };

/* Every object handed to the caller as a handle starts with this. */
struct fobj {
    enum fobj_kind kind;
    volatile LONG refs;
};

enum op_state { OP_IDLE = 0, OP_PENDING, OP_DONE };

struct fop {
    struct fobj o;
    CRITICAL_SECTION lock;
    enum op_state st;
    bool closed;
    uint64_t id;
    const char *api; /* the call it tracks, for calls.log */
    HCS_OPERATION_TYPE type;
    HRESULT hr;
    char *result; /* UTF-8 result document, or NULL */
    HANDLE done;  /* manual-reset, set when st becomes OP_DONE */
    const void *context;
    HCS_OPERATION_COMPLETION cb;
};

enum sys_state { SYS_CREATED = 0, SYS_STARTING, SYS_RUNNING, SYS_STOPPED };
enum sys_kind {
    SYS_LOCAL,  /* created by this process: its VM runs in this process's worker */
    SYS_ORPHAN, /* left running by a process that is gone (or seeded by stale=1) */
    SYS_REMOTE, /* hosted by another live process: listed, not controlled */
};

struct fhandle;

struct fsys {
    struct fsys *next; /* in the process-wide list */
    volatile LONG refs;
    char id[128];
    char owner[128];
    cJSON *doc; /* the validated document (LOCAL only) */
    enum sys_kind kind;
    bool stolhc; /* ShouldTerminateOnLastHandleClosed */
    bool seeded;
    bool listed; /* in the process-wide list and the state file */

    CRITICAL_SECTION lock; /* everything below */
    CONDITION_VARIABLE cv; /* a handle's callbacks in flight reached zero */
    enum sys_state state;
    bool disconnected;
    struct fhandle *handles;
    unsigned nhandles;
    DWORD delivering_tid; /* the thread inside a callback, 0 when none */
    HANDLE wake;          /* auto-reset: a request for the worker */
    bool req_shutdown, req_terminate;
    struct fop *start_op, *shutdown_op, *terminate_op; /* pending, one reference each */
    HANDLE worker;
    DWORD worker_tid;
};

struct fhandle {
    struct fobj o;
    struct fhandle *next;
    struct fsys *sys;
    HCS_EVENT_CALLBACK cb;
    void *cb_ctx;
    bool closing;
    unsigned inflight;
};

/* The process-wide state of the DLL: its configuration, the handle registry and the list
 * of compute systems this process knows. A DLL's exports take no context, so this one
 * object is the DLL's global state. */
struct fake_cc {
    struct fake_config cfg;
    CRITICAL_SECTION lock;
    struct fobj **reg;
    size_t nreg, capreg;
    struct fsys *systems;
    volatile LONG64 op_seq;
    HMODULE self;
};

extern struct fake_cc g_cc;

/* Completes a pending operation (hr, optional result document), calls its completion
 * callback and drops the reference the pending action held. */
void cc_op_complete(struct fop *op, HRESULT hr, const char *result);
/* Completes with a ResultError document made from message. */
void cc_op_fail(struct fop *op, HRESULT hr, const char *message);

/* Delivers an event to every handle of s with a callback, from the calling thread. */
void cc_deliver(struct fsys *s, HCS_EVENT_TYPE type, const char *data);

/* Records s (state, owner, host process) in the state file, or removes it. */
void cc_state_put(struct fsys *s);
void cc_state_remove(const char *id);

void cc_sys_put(struct fsys *s);
/* Forgets a system in this process (and in the state file when from_state). Idempotent. */
void cc_sys_forget(struct fsys *s, bool from_state);

/* Starts the VM worker of a LOCAL system whose start_op is set. */
int fakevm_start(struct fsys *s, struct evm_err *err);

#endif
