"""ourkeys.py — the config keys the agent reads, with their types and limits, as the
differential test (difftest.py) and its generator (gen.py) see them.

The source of truth is the limits table in host/config/hostcfg.c (documented in
docs/host-config.md, "Keys the agent reads"); this is a copy kept by hand. When a limit
changes there, change it here too: the test then generates values at the new edges.
"""

# Each key: its dotted path, its TOML type, and its accepted values (an inclusive integer
# range, or the set of strings).
KEYS = [
    {"path": "vm.linux.cpus", "type": "integer", "range": (1, 1024)},
    {"path": "vm.linux.memory_mb", "type": "integer", "range": (128, 16777216)},
    {"path": "vm.linux.disk_size_gb", "type": "integer", "range": (1, 65536)},
    {"path": "vm.linux.swap_mb", "type": "integer", "range": (0, 1048576)},
    {"path": "dind.enabled", "type": "boolean"},
    {"path": "dind.allow_privileged", "type": "boolean"},
    {"path": "log.level", "type": "string", "choices": ["error", "warn", "info", "debug", "trace"]},
    {"path": "log.format", "type": "string", "choices": ["text", "json"]},
]

KEY_PATHS = [k["path"] for k in KEYS]
BY_PATH = {k["path"]: k for k in KEYS}


def prefixes():
    """Every proper prefix of our keys (vm, vm.linux, dind, log), shortest first: each must
    be a table when present."""
    out = []
    for path in KEY_PATHS:
        parts = path.split(".")
        for n in range(1, len(parts)):
            p = ".".join(parts[:n])
            if p not in out:
                out.append(p)
    return out


PREFIXES = prefixes()


def value_ok(key, tv):
    """Whether a reference's typed value {"type": ..., "value": ...} is one the agent must
    accept for key (right type, in range or among the choices)."""
    if tv["type"] != key["type"]:
        return False
    if key["type"] == "integer":
        lo, hi = key["range"]
        return lo <= tv["value"] <= hi
    if key["type"] == "string":
        return tv["value"] in key["choices"]
    return True
