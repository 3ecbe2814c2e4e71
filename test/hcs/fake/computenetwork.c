/* computenetwork.c — the simulated computenetwork.dll (TEST ONLY, never shipped; README.md):
 * the HCN calls the backend makes, with the real names and prototypes (mingw's
 * computenetwork.h). One network, the Default Switch, found by its well-known id or by name
 * (EVM_FAKE_HCS_INJECT network=NONE removes it, network=BYNAME gives it another id);
 * endpoints created with strictly checked settings, kept in the state file (they outlive
 * the process, as HNS's do), with a Hyper-V MAC (00-15-5D-…) and an IPv4 configuration.
 * Returned strings are CoTaskMemAlloc'd. Every call appends a line to calls.log. */
#include "fakeproto.h"

#include <computenetwork.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hcsvalidate.h"

enum hcn_kind { HCN_NET = 1, HCN_EP = 2 };

struct hcn_handle {
    enum hcn_kind kind;
    char id[37];
};

/* The DLL's global state: its configuration and the registry of live handles. */
static struct {
    struct fake_config cfg;
    CRITICAL_SECTION lock;
    struct hcn_handle **reg;
    size_t nreg, capreg;
} g_cn;

BOOL WINAPI DllMain(HINSTANCE inst, DWORD reason, LPVOID reserved);

BOOL WINAPI DllMain(HINSTANCE inst, DWORD reason, LPVOID reserved)
{
    (void)reserved;
    if (reason == DLL_PROCESS_ATTACH) {
        DisableThreadLibraryCalls(inst);
        InitializeCriticalSection(&g_cn.lock);
        fake_config_load(&g_cn.cfg);
    }
    return TRUE;
}

/* ---- handles ------------------------------------------------------------------------------- */

static struct hcn_handle *handle_new(enum hcn_kind kind, const char *id)
{
    struct hcn_handle *h = calloc(1, sizeof(*h));
    if (!h)
        return NULL;
    h->kind = kind;
    snprintf(h->id, sizeof(h->id), "%s", id);
    EnterCriticalSection(&g_cn.lock);
    if (g_cn.nreg == g_cn.capreg) {
        size_t cap = g_cn.capreg ? g_cn.capreg * 2 : 16;
        struct hcn_handle **n = realloc(g_cn.reg, cap * sizeof(*n));
        if (n) {
            g_cn.reg = n;
            g_cn.capreg = cap;
        }
    }
    bool ok = g_cn.nreg < g_cn.capreg;
    if (ok)
        g_cn.reg[g_cn.nreg++] = h;
    LeaveCriticalSection(&g_cn.lock);
    if (!ok) {
        free(h);
        return NULL;
    }
    return h;
}

/* Copies the id of a live handle of that kind; false for an invalid or closed one. */
static bool handle_id(const void *p, enum hcn_kind kind, char id[37])
{
    bool found = false;
    EnterCriticalSection(&g_cn.lock);
    for (size_t i = 0; i < g_cn.nreg && !found; i++)
        if ((const void *)g_cn.reg[i] == p && g_cn.reg[i]->kind == kind) {
            memcpy(id, g_cn.reg[i]->id, 37);
            found = true;
        }
    LeaveCriticalSection(&g_cn.lock);
    return found;
}

static bool handle_close(const void *p, enum hcn_kind kind)
{
    struct hcn_handle *h = NULL;
    EnterCriticalSection(&g_cn.lock);
    for (size_t i = 0; i < g_cn.nreg && !h; i++)
        if ((const void *)g_cn.reg[i] == p && g_cn.reg[i]->kind == kind) {
            h = g_cn.reg[i];
            g_cn.reg[i] = g_cn.reg[--g_cn.nreg];
        }
    LeaveCriticalSection(&g_cn.lock);
    free(h);
    return h != NULL;
}

/* ---- results -----------------------------------------------------------------------------------
 */

static HRESULT fail(PWSTR *record, HRESULT hr, const char *msg)
{
    if (record) {
        char *doc = fake_result_error(hr, msg);
        *record = doc ? fake_cotask_wstr(doc) : NULL;
        free(doc);
    }
    return hr;
}

static void clear(PWSTR *p)
{
    if (p)
        *p = NULL;
}

static void log_call(const char *api, const char *args, HRESULT hr, const char *msg)
{
    char b[80];
    fake_log(&g_cn.cfg, "%s %s -> %s%s%s", api, args, fake_hr_text(hr, b, sizeof(b)),
             msg && msg[0] ? ": " : "", msg ? msg : "");
}

/* ---- the network --------------------------------------------------------------------------- */

static const char *switch_id(void)
{
    switch (g_cn.cfg.inject.network) {
    case FAKE_NET_NONE:
        return NULL;
    case FAKE_NET_BYNAME:
        return FAKE_RENAMED_SWITCH_ID;
    case FAKE_NET_DEFAULT:
        break;
    }
    return FAKE_DEFAULT_SWITCH_ID;
}

static cJSON *network_properties(const char *id)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *sv = cJSON_AddObjectToObject(o, "SchemaVersion");
    cJSON *ipams = cJSON_AddArrayToObject(o, "Ipams");
    cJSON *ipam = cJSON_CreateObject();
    cJSON *subnets = cJSON_AddArrayToObject(ipam, "Subnets");
    cJSON *subnet = cJSON_CreateObject();
    if (!sv || !ipams || !subnets || !subnet) {
        cJSON_Delete(subnet);
        cJSON_Delete(ipam);
        cJSON_Delete(o);
        return NULL;
    }
    cJSON_AddStringToObject(o, "ID", id);
    cJSON_AddStringToObject(o, "Name", "Default Switch");
    cJSON_AddStringToObject(o, "Type", "ICS");
    cJSON_AddNumberToObject(o, "Flags", 0);
    cJSON_AddNumberToObject(sv, "Major", 2);
    cJSON_AddNumberToObject(sv, "Minor", 0);
    cJSON_AddStringToObject(subnet, "IpAddressPrefix", "172.29.16.0/20");
    cJSON_AddItemToArray(subnets, subnet);
    cJSON_AddStringToObject(ipam, "Type", "Static");
    cJSON_AddItemToArray(ipams, ipam);
    return o;
}

/* A v2 HCN query {"SchemaVersion":…,"Flags":…,"Filter":"<JSON object as a string>"}: the
 * filter object, or an empty one. */
static HRESULT parse_query(const char *q, cJSON **filter, char *msg, size_t n)
{
    static const char *const allowed[] = {"SchemaVersion", "Flags", "Filter", NULL};
    static const char *const filter_keys[] = {"ID", "Name", "HostComputeNetwork", "Type", NULL};
    *filter = NULL;
    cJSON *qj = q && q[0] ? cJSON_Parse(q) : cJSON_CreateObject();
    HRESULT hr = hcsv_keys(qj, "the HCN query", allowed, msg, n);
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(qj, "Filter");
    if (hr == S_OK && f && !cJSON_IsString(f)) {
        snprintf(msg, n, "the query's Filter must be a string holding a JSON object");
        hr = E_INVALIDARG;
    }
    cJSON *fj = f && f->valuestring[0] ? cJSON_Parse(f->valuestring) : cJSON_CreateObject();
    if (hr == S_OK)
        hr = hcsv_keys(fj, "the query's Filter", filter_keys, msg, n);
    cJSON_Delete(qj);
    if (hr != S_OK) {
        cJSON_Delete(fj);
        return hr == HCS_E_INVALID_JSON ? E_INVALIDARG : hr;
    }
    *filter = fj;
    return S_OK;
}

/* Every member of the filter equals the object's (case-insensitively). */
static bool matches(const cJSON *filter, const cJSON *obj)
{
    for (const cJSON *f = filter ? filter->child : NULL; f; f = f->next) {
        const char *want = cJSON_GetStringValue(f);
        const char *have = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(obj, f->string));
        if (!want || !have || _stricmp(want, have) != 0)
            return false;
    }
    return true;
}

static char *ids_of(const cJSON *arr, const cJSON *filter)
{
    cJSON *out = cJSON_CreateArray();
    const cJSON *e;
    cJSON_ArrayForEach(e, arr)
    {
        const char *id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "ID"));
        if (id && matches(filter, e))
            cJSON_AddItemToArray(out, cJSON_CreateString(id));
    }
    char *text = cJSON_PrintUnformatted(out);
    cJSON_Delete(out);
    return text;
}

HRESULT WINAPI HcnEnumerateNetworks(PCWSTR Query, PWSTR *Networks, PWSTR *ErrorRecord)
{
    char msg[256] = "";
    char *q = fake_u8(Query, NULL);
    cJSON *filter = NULL;
    clear(ErrorRecord);
    HRESULT hr = Networks ? parse_query(q, &filter, msg, sizeof(msg)) : E_POINTER;
    char *text = NULL;
    if (hr == S_OK) {
        cJSON *all = cJSON_CreateArray();
        const char *id = switch_id();
        if (all && id)
            cJSON_AddItemToArray(all, network_properties(id));
        text = ids_of(all, filter);
        cJSON_Delete(all);
        *Networks = fake_cotask_wstr(text ? text : "[]");
    } else {
        fail(ErrorRecord, hr, msg);
    }
    char args[600];
    snprintf(args, sizeof(args), "query=%s result=%s", q ? q : "(null)", text ? text : "-");
    log_call("HcnEnumerateNetworks", args, hr, msg);
    cJSON_Delete(filter);
    free(text);
    free(q);
    return hr;
}

static bool guid_arg(REFGUID g, char out[37])
{
    if (!g)
        return false;
    fake_guid_format(g, out);
    return true;
}

HRESULT WINAPI HcnOpenNetwork(REFGUID Id, PHCN_NETWORK Network, PWSTR *ErrorRecord)
{
    char id[37] = "(null)", msg[128] = "";
    clear(ErrorRecord);
    HRESULT hr = S_OK;
    const char *sw = switch_id();
    if (!guid_arg(Id, id) || !Network) {
        hr = E_INVALIDARG;
    } else if (!sw || _stricmp(sw, id) != 0) {
        snprintf(msg, sizeof(msg), "no network with the id %s", id);
        hr = fail(ErrorRecord, HCN_E_NETWORK_NOT_FOUND, msg);
    } else {
        struct hcn_handle *h = handle_new(HCN_NET, sw);
        *Network = h;
        hr = h ? S_OK : E_OUTOFMEMORY;
    }
    char args[64];
    snprintf(args, sizeof(args), "id=%s", id);
    log_call("HcnOpenNetwork", args, hr, msg);
    return hr;
}

HRESULT WINAPI HcnQueryNetworkProperties(HCN_NETWORK Network, PCWSTR Query, PWSTR *Properties,
                                         PWSTR *ErrorRecord)
{
    char id[37], msg[256] = "";
    char *q = fake_u8(Query, NULL);
    cJSON *filter = NULL;
    clear(ErrorRecord);
    HRESULT hr = !handle_id(Network, HCN_NET, id) ? E_HANDLE
                 : !Properties                    ? E_POINTER
                                                  : parse_query(q, &filter, msg, sizeof(msg));
    char *text = NULL;
    if (hr == S_OK) {
        cJSON *o = network_properties(id);
        text = o ? cJSON_PrintUnformatted(o) : NULL;
        cJSON_Delete(o);
        *Properties = fake_cotask_wstr(text ? text : "{}");
    } else if (hr != E_HANDLE && hr != E_POINTER) {
        fail(ErrorRecord, hr, msg);
    }
    log_call("HcnQueryNetworkProperties", text ? text : "", hr, msg);
    cJSON_Delete(filter);
    free(text);
    free(q);
    return hr;
}

HRESULT WINAPI HcnCloseNetwork(HCN_NETWORK Network)
{
    HRESULT hr = handle_close(Network, HCN_NET) ? S_OK : E_HANDLE;
    log_call("HcnCloseNetwork", "", hr, NULL);
    return hr;
}

/* ---- endpoints ----------------------------------------------------------------------------- */

/* The settings of HcnCreateEndpoint, checked against HostComputeEndpoint's members: Name,
 * HostComputeNetwork (the network's id) and SchemaVersion 2.x required; members the fake
 * does not simulate refused with E_NOTIMPL. */
static HRESULT check_settings(const cJSON *s, const char *net_id, const char *ep_id, char *msg,
                              size_t n)
{
    static const char *const allowed[] = {"ID",
                                          "Name",
                                          "HostComputeNetwork",
                                          "HostComputeNamespace",
                                          "Policies",
                                          "IpConfigurations",
                                          "Dns",
                                          "Routes",
                                          "MacAddress",
                                          "Flags",
                                          "Health",
                                          "SchemaVersion",
                                          NULL};
    static const char *const not_simulated[] = {
        "HostComputeNamespace", "Policies",   "Dns",    "Routes",
        "IpConfigurations",     "MacAddress", "Health", NULL};
    HRESULT hr = hcsv_keys(s, "the endpoint settings", allowed, msg, n);
    if (hr != S_OK)
        return E_INVALIDARG;
    for (const char *const *k = not_simulated; *k; k++)
        if (cJSON_GetObjectItemCaseSensitive(s, *k)) {
            snprintf(msg, n, "the endpoint setting %s is valid HCN but not simulated by the fake",
                     *k);
            return E_NOTIMPL;
        }
    const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(s, "Name"));
    const char *net =
        cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(s, "HostComputeNetwork"));
    const char *id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(s, "ID"));
    const cJSON *sv = cJSON_GetObjectItemCaseSensitive(s, "SchemaVersion");
    const cJSON *major = cJSON_GetObjectItemCaseSensitive(sv, "Major");
    const cJSON *flags = cJSON_GetObjectItemCaseSensitive(s, "Flags");
    if (!name || !name[0])
        snprintf(msg, n, "the endpoint settings need a Name");
    else if (!net)
        snprintf(msg, n, "the endpoint settings need HostComputeNetwork (the network's id)");
    else if (_stricmp(net, net_id) != 0)
        snprintf(msg, n, "HostComputeNetwork %s is not the network %s the handle refers to", net,
                 net_id);
    else if (!cJSON_IsObject(sv) || !cJSON_IsNumber(major) || major->valuedouble != 2)
        snprintf(msg, n, "the endpoint settings need SchemaVersion {\"Major\":2,\"Minor\":…}");
    else if (id && _stricmp(id, ep_id) != 0)
        snprintf(msg, n, "the settings' ID %s differs from the Id argument %s", id, ep_id);
    else if (flags && (!cJSON_IsNumber(flags) || flags->valuedouble != 0))
        snprintf(msg, n, "endpoint Flags other than 0 are not simulated");
    else
        return S_OK;
    return E_INVALIDARG;
}

static cJSON *find_endpoint(cJSON *arr, const char *id, int *index)
{
    int i = 0;
    cJSON *e;
    cJSON_ArrayForEach(e, arr)
    {
        const char *eid = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "ID"));
        if (eid && !_stricmp(eid, id)) {
            if (index)
                *index = i;
            return e;
        }
        i++;
    }
    return NULL;
}

/* A new endpoint's record: the next MAC in Hyper-V's range and an address on the switch. */
static cJSON *endpoint_record(struct fake_state *st, const char *id, const char *name,
                              const char *net)
{
    cJSON *seqj = cJSON_GetObjectItemCaseSensitive(st->root, "endpoint_seq");
    unsigned seq = (unsigned)(cJSON_IsNumber(seqj) ? seqj->valuedouble : 0) + 1;
    cJSON_DeleteItemFromObjectCaseSensitive(st->root, "endpoint_seq");
    cJSON_AddNumberToObject(st->root, "endpoint_seq", seq);
    char mac[18], ip[16];
    unsigned m = 0x100000u + seq;
    snprintf(mac, sizeof(mac), "00-15-5D-%02X-%02X-%02X", (m >> 16) & 0xff, (m >> 8) & 0xff,
             m & 0xff);
    snprintf(ip, sizeof(ip), "172.29.%u.%u", 16 + (seq / 250) % 16, 2 + seq % 250);
    cJSON *o = cJSON_CreateObject();
    cJSON *ips = cJSON_AddArrayToObject(o, "IpConfigurations");
    cJSON *cfg = cJSON_CreateObject();
    if (!ips || !cfg) {
        cJSON_Delete(cfg);
        cJSON_Delete(o);
        return NULL;
    }
    cJSON_AddStringToObject(cfg, "IpAddress", ip);
    cJSON_AddNumberToObject(cfg, "PrefixLength", 20);
    cJSON_AddItemToArray(ips, cfg);
    cJSON_AddStringToObject(o, "ID", id);
    cJSON_AddStringToObject(o, "Name", name);
    cJSON_AddStringToObject(o, "HostComputeNetwork", net);
    cJSON_AddStringToObject(o, "MacAddress", mac);
    return o;
}

static HRESULT create_endpoint(const char *net_id, const char *ep_id, const char *settings,
                               char *msg, size_t n)
{
    cJSON *s = settings ? cJSON_Parse(settings) : NULL;
    HRESULT hr = s ? check_settings(s, net_id, ep_id, msg, n) : E_INVALIDARG;
    if (!s)
        snprintf(msg, n, "the endpoint settings are not a JSON object");
    struct fake_state st;
    struct evm_err err = {0};
    if (hr == S_OK && fake_state_begin(&g_cn.cfg, &st, &err) < 0) {
        snprintf(msg, n, "%s", err.msg);
        hr = E_FAIL;
    } else if (hr == S_OK) {
        fake_state_seed_stale(&g_cn.cfg, &st);
        cJSON *arr = fake_state_array(&st, "endpoints");
        cJSON *rec = NULL;
        if (find_endpoint(arr, ep_id, NULL)) {
            snprintf(msg, n, "an endpoint with the id %s already exists", ep_id);
            hr = HRESULT_FROM_WIN32(ERROR_ALREADY_EXISTS);
        } else if (!(rec = endpoint_record(
                         &st, ep_id,
                         cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(s, "Name")),
                         net_id))) {
            hr = E_OUTOFMEMORY;
        } else {
            cJSON_AddItemToArray(arr, rec);
        }
        if (fake_state_end(&g_cn.cfg, &st, hr == S_OK, &err) < 0 && hr == S_OK) {
            snprintf(msg, n, "%s", err.msg);
            hr = E_FAIL;
        }
    }
    cJSON_Delete(s);
    return hr;
}

HRESULT WINAPI HcnCreateEndpoint(HCN_NETWORK Network, REFGUID Id, PCWSTR Settings,
                                 PHCN_ENDPOINT Endpoint, PWSTR *ErrorRecord)
{
    char net_id[37], ep_id[37] = "(null)", msg[300] = "";
    char *settings = fake_u8(Settings, NULL);
    GUID fresh;
    clear(ErrorRecord);
    HRESULT hr = S_OK;
    if (!handle_id(Network, HCN_NET, net_id))
        hr = E_HANDLE;
    else if (!Id || !Endpoint)
        hr = E_INVALIDARG;
    static const GUID zero_guid;
    if (hr == S_OK && IsEqualGUID(Id, &zero_guid)) {
        if (fake_guid_new(&fresh))
            fake_guid_format(&fresh, ep_id);
        else
            hr = E_FAIL;
    } else if (hr == S_OK) {
        fake_guid_format(Id, ep_id);
    }
    if (hr == S_OK)
        hr = create_endpoint(net_id, ep_id, settings, msg, sizeof(msg));
    if (hr == S_OK) {
        struct hcn_handle *h = handle_new(HCN_EP, ep_id);
        *Endpoint = h;
        hr = h ? S_OK : E_OUTOFMEMORY;
    } else if (hr != E_HANDLE) {
        fail(ErrorRecord, hr, msg);
    }
    char args[1200];
    snprintf(args, sizeof(args), "id=%s settings=%s", ep_id, settings ? settings : "(null)");
    log_call("HcnCreateEndpoint", args, hr, msg);
    free(settings);
    return hr;
}

/* A copy of the endpoint's record from the state, or NULL. */
static cJSON *load_endpoint(const char *id)
{
    struct fake_state st;
    struct evm_err err = {0};
    if (fake_state_begin(&g_cn.cfg, &st, &err) < 0)
        return NULL;
    bool seed = g_cn.cfg.inject.stale;
    fake_state_seed_stale(&g_cn.cfg, &st);
    cJSON *e = find_endpoint(fake_state_array(&st, "endpoints"), id, NULL);
    cJSON *copy = e ? cJSON_Duplicate(e, 1) : NULL;
    fake_state_end(&g_cn.cfg, &st, seed, NULL);
    return copy;
}

HRESULT WINAPI HcnOpenEndpoint(REFGUID Id, PHCN_ENDPOINT Endpoint, PWSTR *ErrorRecord)
{
    char id[37] = "(null)", msg[128] = "";
    clear(ErrorRecord);
    HRESULT hr = S_OK;
    cJSON *e = NULL;
    if (!guid_arg(Id, id) || !Endpoint) {
        hr = E_INVALIDARG;
    } else if (!(e = load_endpoint(id))) {
        snprintf(msg, sizeof(msg), "no endpoint with the id %s", id);
        hr = fail(ErrorRecord, HCN_E_ENDPOINT_NOT_FOUND, msg);
    } else {
        struct hcn_handle *h = handle_new(HCN_EP, id);
        *Endpoint = h;
        hr = h ? S_OK : E_OUTOFMEMORY;
    }
    cJSON_Delete(e);
    char args[64];
    snprintf(args, sizeof(args), "id=%s", id);
    log_call("HcnOpenEndpoint", args, hr, msg);
    return hr;
}

static char *endpoint_properties(cJSON *e)
{
    cJSON *sv = cJSON_AddObjectToObject(e, "SchemaVersion");
    cJSON_AddNumberToObject(sv, "Major", 2);
    cJSON_AddNumberToObject(sv, "Minor", 0);
    cJSON_AddNumberToObject(e, "Flags", 0);
    return cJSON_PrintUnformatted(e);
}

HRESULT WINAPI HcnQueryEndpointProperties(HCN_ENDPOINT Endpoint, PCWSTR Query, PWSTR *Properties,
                                          PWSTR *ErrorRecord)
{
    char id[37] = "?", msg[256] = "";
    char *q = fake_u8(Query, NULL);
    cJSON *filter = NULL, *e = NULL;
    char *text = NULL;
    clear(ErrorRecord);
    HRESULT hr = !handle_id(Endpoint, HCN_EP, id) ? E_HANDLE
                 : !Properties                    ? E_POINTER
                                                  : parse_query(q, &filter, msg, sizeof(msg));
    if (hr == S_OK && !(e = load_endpoint(id))) {
        snprintf(msg, sizeof(msg), "the endpoint %s was deleted", id);
        hr = HCN_E_ENDPOINT_NOT_FOUND;
    }
    if (hr == S_OK) {
        text = endpoint_properties(e);
        *Properties = fake_cotask_wstr(text ? text : "{}");
    } else if (hr != E_HANDLE && hr != E_POINTER) {
        fail(ErrorRecord, hr, msg);
    }
    char args[900];
    snprintf(args, sizeof(args), "id=%s query=%s result=%s", id, q ? q : "(null)",
             text ? text : "-");
    log_call("HcnQueryEndpointProperties", args, hr, msg);
    cJSON_Delete(e);
    cJSON_Delete(filter);
    free(text);
    free(q);
    return hr;
}

HRESULT WINAPI HcnDeleteEndpoint(REFGUID Id, PWSTR *ErrorRecord)
{
    char id[37] = "(null)", msg[128] = "";
    clear(ErrorRecord);
    HRESULT hr = guid_arg(Id, id) ? S_OK : E_INVALIDARG;
    struct fake_state st;
    struct evm_err err = {0};
    if (hr == S_OK && fake_state_begin(&g_cn.cfg, &st, &err) < 0) {
        hr = fail(ErrorRecord, E_FAIL, err.msg);
    } else if (hr == S_OK) {
        fake_state_seed_stale(&g_cn.cfg, &st);
        int index = -1;
        cJSON *arr = fake_state_array(&st, "endpoints");
        if (find_endpoint(arr, id, &index)) {
            cJSON_DeleteItemFromArray(arr, index);
        } else {
            snprintf(msg, sizeof(msg), "no endpoint with the id %s", id);
            hr = fail(ErrorRecord, HCN_E_ENDPOINT_NOT_FOUND, msg);
        }
        fake_state_end(&g_cn.cfg, &st, true, NULL);
    }
    char args[64];
    snprintf(args, sizeof(args), "id=%s", id);
    log_call("HcnDeleteEndpoint", args, hr, msg);
    return hr;
}

HRESULT WINAPI HcnEnumerateEndpoints(PCWSTR Query, PWSTR *Endpoints, PWSTR *ErrorRecord)
{
    char msg[256] = "";
    char *q = fake_u8(Query, NULL);
    cJSON *filter = NULL;
    char *text = NULL;
    clear(ErrorRecord);
    HRESULT hr = Endpoints ? parse_query(q, &filter, msg, sizeof(msg)) : E_POINTER;
    struct fake_state st;
    struct evm_err err = {0};
    if (hr == S_OK && fake_state_begin(&g_cn.cfg, &st, &err) < 0) {
        snprintf(msg, sizeof(msg), "%s", err.msg);
        hr = E_FAIL;
    } else if (hr == S_OK) {
        bool seed = g_cn.cfg.inject.stale;
        fake_state_seed_stale(&g_cn.cfg, &st);
        text = ids_of(fake_state_array(&st, "endpoints"), filter);
        fake_state_end(&g_cn.cfg, &st, seed, NULL);
        *Endpoints = fake_cotask_wstr(text ? text : "[]");
    }
    if (hr != S_OK && hr != E_POINTER)
        fail(ErrorRecord, hr, msg);
    char args[900];
    snprintf(args, sizeof(args), "query=%s result=%s", q ? q : "(null)", text ? text : "-");
    log_call("HcnEnumerateEndpoints", args, hr, msg);
    cJSON_Delete(filter);
    free(text);
    free(q);
    return hr;
}

HRESULT WINAPI HcnCloseEndpoint(HCN_ENDPOINT Endpoint)
{
    HRESULT hr = handle_close(Endpoint, HCN_EP) ? S_OK : E_HANDLE;
    log_call("HcnCloseEndpoint", "", hr, NULL);
    return hr;
}
