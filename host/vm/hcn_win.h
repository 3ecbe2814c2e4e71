/* hcn_win.h — the VM's network endpoint through the host network service
 * (computenetwork.dll, loaded by hcsapi_win.h): Hyper-V's Default Switch found by its
 * well-known id, then by name; one endpoint per boot on it, named after the VM, whose MAC
 * goes into the VM document; deleted after the VM stops; endpoints a crashed agent left
 * behind found by their name prefix and deleted. Windows only. */
#ifndef EVM_HCN_WIN_H
#define EVM_HCN_WIN_H

#include "err.h"
#include "vm/hcsapi_win.h"

/* Every endpoint this backend creates is named HCN_ENDPOINT_PREFIX + the VM's id. */
#define HCN_ENDPOINT_PREFIX "ephemerd-vm-"
/* The Default Switch keeps this id on every host; its name is localized. */
#define HCN_DEFAULT_SWITCH_ID "C08CB7B8-9B3C-408E-8E30-5E16A3AEB444"
#define HCN_DEFAULT_SWITCH_NAME "Default Switch"

struct hcn_endpoint {
    char id[HCS_GUID_TEXT_LEN + 1];      /* "" until created, and again once deleted */
    char network[HCS_GUID_TEXT_LEN + 1]; /* the switch it is on */
    char mac[18];                        /* "00-15-5D-12-34-56" */
};

/* Finds the Default Switch (by id, then by name) and gives its id; for `doctor`. */
int hcn_default_switch(const struct hcsapi *api, char id[HCS_GUID_TEXT_LEN + 1],
                       struct evm_err *err);

/* The settings document of a new endpoint (malloc'd UTF-8 JSON, NULL when out of memory):
 * {"Name":…,"HostComputeNetwork":…,"SchemaVersion":{"Major":2,"Minor":0}}. */
char *hcn_endpoint_settings(const char *name, const char *network_id);

/* Creates an endpoint named name on the Default Switch and reads its MAC. On failure
 * nothing is left behind and err says why (no Default Switch, access denied, …). */
int hcn_endpoint_create(const struct hcsapi *api, const char *name, struct hcn_endpoint *ep,
                        struct evm_err *err);

/* Deletes the endpoint (one that is already gone counts as deleted); clears ep->id. A
 * no-op when ep->id is empty. */
int hcn_endpoint_delete(const struct hcsapi *api, struct hcn_endpoint *ep, struct evm_err *err);

/* Deletes every endpoint whose Name starts with prefix; *deleted counts them. Each one is
 * logged; one that cannot be deleted is logged and skipped. */
int hcn_sweep(const struct hcsapi *api, const char *prefix, unsigned *deleted, struct evm_err *err);

#endif
