/* hcsvalidate.h — the fake computecore's strict check of a compute-system document: the
 * allowed keys of each object in the subset the backend uses, with the schema version each
 * appeared in (SchemaReference.md), required fields, value types and the rules real HCS
 * applies (even SizeInMB, schema version at most the host's). TEST ONLY. */
#ifndef EVM_HCSVALIDATE_H
#define EVM_HCSVALIDATE_H

#include <windows.h>

#include <stddef.h>

#include <cjson/cJSON.h>

struct hcsv_host {
    unsigned max_minor; /* the host supports schema 2.0 .. 2.<max_minor> */
    unsigned cpus;      /* logical processors */
};

/* Parses and checks json. On success returns S_OK and the parsed document in *doc (the
 * caller deletes it). Otherwise returns HCS_E_INVALID_JSON (malformed, unknown or misspelled
 * field, wrong type, missing required field, bad value, schema too new) or E_NOTIMPL (a
 * valid HCS field the fake does not simulate), with a message naming the field. */
HRESULT hcsv_document(const char *json, const struct hcsv_host *host, cJSON **doc, char *msg,
                      size_t n);

/* Checks a JSON query object's keys against a list (NULL-terminated): S_OK or
 * HCS_E_INVALID_JSON with a message. */
HRESULT hcsv_keys(const cJSON *obj, const char *what, const char *const *allowed, char *msg,
                  size_t n);

/* The document's members the simulation uses (borrowed pointers into doc; NULL when absent). */
const char *hcsv_string(const cJSON *doc, const char *dotted_path);

#endif
