#!/usr/bin/python3
"""oracle_py.py — the first reference parser of the differential test: Python's tomllib
(TOML 1.0), turning a document into the normalized verdict every oracle prints:

    {"accepted": false, "error": "..."}
    {"accepted": true,
     "keys":     {"vm.linux.cpus": {"type": "integer", "value": 2}, ...},   (present keys only)
     "prefixes": {"vm": "table", "vm.linux": "table", "dind": "absent", "log": "array"}}

Types: integer, float, boolean, string, datetime (any date/time kind), array, table; values
are given for integer, boolean and string only. A prefix is "absent" when it is not in the
document (or its parent is not a table), else its type. A leading UTF-8 BOM is removed
before parsing, as the daemon's parser (BurntSushi/toml 1.6) does; tomllib refuses it.

Usage: oracle_py.py KEY... -- FILE...   (one JSON line per file: {"file": F, "verdict": V})
"""
import datetime
import json
import sys
import tomllib

BOM = b"\xef\xbb\xbf"


def type_name(v):
    """The normalized TOML type of a decoded value."""
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, int):
        return "integer"
    if isinstance(v, float):
        return "float"
    if isinstance(v, str):
        return "string"
    if isinstance(v, (datetime.datetime, datetime.date, datetime.time)):
        return "datetime"
    if isinstance(v, list):
        return "array"
    if isinstance(v, dict):
        return "table"
    raise TypeError(f"unexpected decoded type {type(v)!r}")


def typed(v):
    """{"type": T} with "value" for the scalar types the agent reads."""
    t = type_name(v)
    if t in ("integer", "boolean", "string"):
        return {"type": t, "value": v}
    return {"type": t}


def lookup(doc, path):
    """The value at a dotted path of bare parts, or None when absent or below a non-table."""
    node = doc
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def prefixes_of(keys):
    out = []
    for k in keys:
        parts = k.split(".")
        for n in range(1, len(parts)):
            p = ".".join(parts[:n])
            if p not in out:
                out.append(p)
    return out


def verdict(data, keys):
    """The normalized verdict of tomllib on the document bytes, for the wanted key paths."""
    if data.startswith(BOM):
        data = data[len(BOM):]
    try:
        doc = tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        return {"accepted": False, "error": f"{type(e).__name__}: {e}"}
    found = {}
    for k in keys:
        v = lookup(doc, k)
        if v is not None:
            found[k] = typed(v)
    prefixes = {}
    for p in prefixes_of(keys):
        v = lookup(doc, p)
        prefixes[p] = "absent" if v is None else type_name(v)
    return {"accepted": True, "keys": found, "prefixes": prefixes}


def main(argv):
    if "--" not in argv:
        sys.stderr.write(__doc__)
        return 2
    sep = argv.index("--")
    keys, files = argv[:sep], argv[sep + 1:]
    for f in files:
        with open(f, "rb") as fh:
            v = verdict(fh.read(), keys)
        print(json.dumps({"file": f, "verdict": v}, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
