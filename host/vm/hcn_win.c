/* hcn_win.c — the VM's endpoint on the Default Switch (hcn_win.h). The host network
 * service's calls are synchronous; each may hand back an error record (JSON, freed with
 * CoTaskMemFree) that says more than the HRESULT, and a failure quotes it in one line.
 * Endpoint ids are fresh GUIDs chosen here, as WSL does, so the id to delete is known even
 * when reading the properties fails. */
#include "vm/hcn_win.h"

#include <cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "vm/hcsjson.h"
#include "vm/hcsop_win.h"
#include "vm/hresult.h"
#include "winutil.h"

#define HCN_QUERY L"{\"SchemaVersion\":{\"Major\":2,\"Minor\":0},\"Flags\":0}"
#define HCN_QUERY_BY_NAME                                                                          \
    L"{\"SchemaVersion\":{\"Major\":2,\"Minor\":0},\"Flags\":0,"                                   \
    L"\"Filter\":\"{\\\"Name\\\":\\\"" _CRT_WIDE(HCN_DEFAULT_SWITCH_NAME) L"\\\"}\"}"
#define RECORD_TEXT_MAX 360

/* An error record as text: its "Error" member when it has one, else the ResultError
 * reading of it. */
static void record_text(const char *record, char *buf, size_t n)
{
    buf[0] = '\0';
    cJSON *j = record ? cJSON_Parse(record) : NULL;
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "Error");
    if (cJSON_IsString(e) && e->valuestring && *e->valuestring)
        snprintf(buf, n, "%s", e->valuestring);
    else
        hcsjson_describe_result(record, buf, n);
    cJSON_Delete(j);
}

/* Checks one call's outcome and frees its error record; on failure fills err. */
static int hcn_check(HRESULT hr, PWSTR record, const char *what, struct evm_err *err)
{
    if (SUCCEEDED(hr)) {
        hcs_free_hcn_string(record);
        return 0;
    }
    char *rec = hcs_utf8(record);
    hcs_free_hcn_string(record);
    char name[64], text[RECORD_TEXT_MAX];
    hresult_format((uint32_t)hr, name, sizeof(name));
    record_text(rec, text, sizeof(text));
    free(rec);
    return evm_errf(err, hcsop_errno((uint32_t)hr), "%s: %s%s%s", what, name, text[0] ? ": " : "",
                    text);
}

/* A JSON array of GUID strings (what the Enumerate calls return), parsed; NULL and a
 * negative errno in *r when it is not one. */
static cJSON *guid_list(PWSTR list, const char *what, int *r, struct evm_err *err)
{
    char *text = hcs_utf8(list);
    hcs_free_hcn_string(list);
    cJSON *j = text ? cJSON_Parse(text) : NULL;
    free(text);
    *r = 0;
    if (!cJSON_IsArray(j)) {
        cJSON_Delete(j);
        *r = evm_errf(err, EPROTO, "%s: the result is not a JSON array of ids", what);
        return NULL;
    }
    return j;
}

char *hcn_endpoint_settings(const char *name, const char *network_id)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *v = cJSON_CreateObject();
    char *s = NULL;
    if (o && v && cJSON_AddStringToObject(o, "Name", name) &&
        cJSON_AddStringToObject(o, "HostComputeNetwork", network_id) &&
        cJSON_AddNumberToObject(v, "Major", 2) && cJSON_AddNumberToObject(v, "Minor", 0)) {
        cJSON_AddItemToObject(o, "SchemaVersion", v);
        v = NULL;
        s = cJSON_PrintUnformatted(o);
    }
    cJSON_Delete(v);
    cJSON_Delete(o);
    return s;
}

/* ---- the Default Switch ------------------------------------------------------------------ */

static int open_network(const struct hcsapi *api, const char *id, HCSAPI_HCN_NETWORK *net,
                        struct evm_err *err)
{
    GUID g;
    if (hcs_guid_parse(id, &g) < 0)
        return evm_errf(err, EPROTO, "network id %s is not a GUID", id);
    PWSTR rec = NULL;
    char what[80];
    snprintf(what, sizeof(what), "opening network %s", id);
    return hcn_check(api->HcnOpenNetwork(&g, net, &rec), rec, what, err);
}

/* The first network the by-name query lists, opened. */
static int open_network_by_name(const struct hcsapi *api, HCSAPI_HCN_NETWORK *net,
                                char id[HCS_GUID_TEXT_LEN + 1], struct evm_err *err)
{
    const char *what = "listing the networks named \"" HCN_DEFAULT_SWITCH_NAME "\"";
    PWSTR list = NULL, rec = NULL;
    int r = hcn_check(api->HcnEnumerateNetworks(HCN_QUERY_BY_NAME, &list, &rec), rec, what, err);
    if (r < 0) {
        hcs_free_hcn_string(list);
        return r;
    }
    cJSON *ids = guid_list(list, what, &r, err);
    if (!ids)
        return r;
    const cJSON *first = cJSON_GetArrayItem(ids, 0);
    if (!cJSON_IsString(first) || !first->valuestring)
        r = evm_errf(err, ENOENT, "no network is named \"%s\"", HCN_DEFAULT_SWITCH_NAME);
    else if (strlen(first->valuestring) > HCS_GUID_TEXT_LEN + 2)
        r = evm_errf(err, EPROTO, "%s: a listed id is not a GUID", what);
    if (r == 0)
        r = open_network(api, first->valuestring, net, err);
    if (r == 0) {
        GUID g;
        hcs_guid_parse(first->valuestring, &g);
        hcs_guid_format(&g, id);
    }
    cJSON_Delete(ids);
    return r;
}

static int open_default_switch(const struct hcsapi *api, HCSAPI_HCN_NETWORK *net,
                               char id[HCS_GUID_TEXT_LEN + 1], struct evm_err *err)
{
    struct evm_err by_id = {0}, by_name = {0};
    if (open_network(api, HCN_DEFAULT_SWITCH_ID, net, &by_id) == 0) {
        snprintf(id, HCS_GUID_TEXT_LEN + 1, "%s", HCN_DEFAULT_SWITCH_ID);
        return 0;
    }
    log_debug("vm: Default Switch by id: %s; looking it up by name", by_id.msg);
    if (open_network_by_name(api, net, id, &by_name) == 0)
        return 0;
    return evm_errf(err, by_name.code == ENOENT ? ENOENT : by_name.code,
                    "Hyper-V's Default Switch not found (by id %s: %s; by name: %s)",
                    HCN_DEFAULT_SWITCH_ID, by_id.msg, by_name.msg);
}

int hcn_default_switch(const struct hcsapi *api, char id[HCS_GUID_TEXT_LEN + 1],
                       struct evm_err *err)
{
    HCSAPI_HCN_NETWORK net = NULL;
    int r = open_default_switch(api, &net, id, err);
    if (r == 0)
        api->HcnCloseNetwork(net);
    return r;
}

/* ---- endpoints ----------------------------------------------------------------------------- */

static int query_properties(const struct hcsapi *api, HCSAPI_HCN_ENDPOINT h, const char *id,
                            char **props, struct evm_err *err)
{
    PWSTR w = NULL, rec = NULL;
    char what[96];
    snprintf(what, sizeof(what), "reading endpoint %s", id);
    int r = hcn_check(api->HcnQueryEndpointProperties(h, HCN_QUERY, &w, &rec), rec, what, err);
    if (r == 0 && !(*props = hcs_utf8(w)))
        r = evm_errf(err, EPROTO, "%s: no properties document", what);
    hcs_free_hcn_string(w);
    return r;
}

/* Creates the endpoint ep->id on net and reads its MAC; the endpoint exists on return
 * whenever the create call succeeded, even if reading failed. */
static int create_on(const struct hcsapi *api, HCSAPI_HCN_NETWORK net, const char *name,
                     struct hcn_endpoint *ep, bool *created, struct evm_err *err)
{
    GUID g;
    hcs_guid_parse(ep->id, &g);
    char *settings = hcn_endpoint_settings(name, ep->network), *props = NULL;
    int e = 0;
    wchar_t *w = settings ? win_wide(settings, &e) : NULL;
    free(settings);
    if (!w)
        return evm_errf(err, ENOMEM, "endpoint %s: out of memory", name);
    HCSAPI_HCN_ENDPOINT h = NULL;
    PWSTR rec = NULL;
    char what[96];
    snprintf(what, sizeof(what), "creating endpoint %s on the Default Switch", name);
    int r = hcn_check(api->HcnCreateEndpoint(net, &g, w, &h, &rec), rec, what, err);
    free(w);
    if (r < 0)
        return r;
    *created = true;
    r = query_properties(api, h, ep->id, &props, err);
    if (r == 0)
        r = hcsjson_endpoint_mac(props, ep->mac, sizeof(ep->mac), err);
    free(props);
    api->HcnCloseEndpoint(h); /* the endpoint lives until HcnDeleteEndpoint */
    return r;
}

int hcn_endpoint_create(const struct hcsapi *api, const char *name, struct hcn_endpoint *ep,
                        struct evm_err *err)
{
    memset(ep, 0, sizeof(*ep));
    HCSAPI_HCN_NETWORK net = NULL;
    bool created = false;
    int r = hcs_guid_new(ep->id, err);
    if (r == 0)
        r = open_default_switch(api, &net, ep->network, err);
    if (r == 0)
        r = create_on(api, net, name, ep, &created, err);
    if (net)
        api->HcnCloseNetwork(net);
    if (r < 0 && created) {
        struct evm_err derr = {0};
        if (hcn_endpoint_delete(api, ep, &derr) < 0)
            log_warn("vm: %s", derr.msg);
    }
    if (r < 0)
        memset(ep, 0, sizeof(*ep));
    else
        log_info("vm: endpoint %s (%s, MAC %s) on switch %s", name, ep->id, ep->mac, ep->network);
    return r;
}

static int delete_by_id(const struct hcsapi *api, const char *id, struct evm_err *err)
{
    GUID g;
    if (hcs_guid_parse(id, &g) < 0)
        return evm_errf(err, EINVAL, "endpoint id %s is not a GUID", id);
    PWSTR rec = NULL;
    HRESULT hr = api->HcnDeleteEndpoint(&g, &rec);
    if ((uint32_t)hr == HCN_E_ENDPOINT_NOT_FOUND)
        hr = S_OK; /* already gone */
    char what[80];
    snprintf(what, sizeof(what), "deleting endpoint %s", id);
    return hcn_check(hr, rec, what, err);
}

int hcn_endpoint_delete(const struct hcsapi *api, struct hcn_endpoint *ep, struct evm_err *err)
{
    if (!ep->id[0])
        return 0;
    int r = delete_by_id(api, ep->id, err);
    if (r == 0)
        ep->id[0] = '\0';
    return r;
}

/* ---- the sweep ------------------------------------------------------------------------------ */

/* The Name of endpoint id (malloc'd), or NULL when it cannot be read (logged). */
static char *endpoint_name(const struct hcsapi *api, const char *id)
{
    GUID g;
    if (hcs_guid_parse(id, &g) < 0)
        return NULL;
    struct evm_err err = {0};
    HCSAPI_HCN_ENDPOINT h = NULL;
    PWSTR rec = NULL;
    char *props = NULL, *name = NULL;
    int r = hcn_check(api->HcnOpenEndpoint(&g, &h, &rec), rec, "opening an endpoint", &err);
    if (r == 0) {
        r = query_properties(api, h, id, &props, &err);
        api->HcnCloseEndpoint(h);
    }
    cJSON *j = r == 0 ? cJSON_Parse(props) : NULL;
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(j, "Name");
    if (cJSON_IsString(n) && n->valuestring)
        name = strdup(n->valuestring);
    if (r < 0)
        log_debug("vm: sweep: endpoint %s: %s", id, err.msg);
    cJSON_Delete(j);
    free(props);
    return name;
}

int hcn_sweep(const struct hcsapi *api, const char *prefix, unsigned *deleted, struct evm_err *err)
{
    *deleted = 0;
    PWSTR list = NULL, rec = NULL;
    const char *what = "listing the host's network endpoints";
    int r = hcn_check(api->HcnEnumerateEndpoints(HCN_QUERY, &list, &rec), rec, what, err);
    if (r < 0) {
        hcs_free_hcn_string(list);
        return r;
    }
    cJSON *ids = guid_list(list, what, &r, err);
    const cJSON *it;
    cJSON_ArrayForEach(it, ids)
    {
        if (!cJSON_IsString(it) || !it->valuestring)
            continue;
        char *name = endpoint_name(api, it->valuestring);
        if (name && strncmp(name, prefix, strlen(prefix)) == 0) {
            struct evm_err derr = {0};
            if (delete_by_id(api, it->valuestring, &derr) == 0) {
                log_warn("vm: deleted endpoint %s (%s) left by an earlier agent", name,
                         it->valuestring);
                (*deleted)++;
            } else {
                log_warn("vm: stale endpoint %s: %s", name, derr.msg);
            }
        }
        free(name);
    }
    cJSON_Delete(ids);
    return r;
}
