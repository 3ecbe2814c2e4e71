#!/usr/bin/python3
"""difftest.py — the differential test of the host config (test/README.md, "Differential
test of config.toml"): random TOML documents (gen.py) through `ephemerd-vmhost config show
--config FILE --json` and through two reference parsers, Python's tomllib (oracle_py.py)
and Debian's BurntSushi/toml 1.2.0 (oracle_go, built by build-oracle.sh).

The rule, for each document:
  - both references refuse it            -> the agent must refuse it (exit 1);
  - the references disagree              -> skipped and counted (not a verdict on us);
  - both accept it: if a prefix of ours (vm, vm.linux, dind, log) is present and not a
    table, or one of our keys has the wrong type or is out of range (ourkeys.py) -> the
    agent must refuse it; else it must accept it (exit 0) with, for each of our keys, the
    same value and "source": "file" (and a "line" where the generator wrote it) when the
    document sets it, "source": "default" when it does not.
  - TOML 1.1 documents (class toml11) are refused by both 1.0 references; the agent reads
    the 1.1 rendering and must give the verdict the references give on its 1.0 twin (the
    same document with each 1.1 piece written the 1.0 way), which must also be what the
    generator itself expects.
The generator's own expectation is checked against the references too: a disagreement is
a bug of the generator, reported as such (and fails the run).

Usage: difftest.py --vmhost BIN --oracle-go BIN [--seed S] [--count N] [--work DIR]
                   [--jobs J] [--show N]
Exit 0 when every checked document matched, 1 otherwise (after the whole run).
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

sys.dont_write_bytecode = True  # nothing written into the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen  # noqa: E402
import oracle_py  # noqa: E402
from ourkeys import BY_PATH, KEY_PATHS, PREFIXES, value_ok  # noqa: E402

# ---- the references ---------------------------------------------------------------------


def run_go_oracle(binary, files):
    """{file: verdict} from one oracle_go process over all files."""
    p = subprocess.run([binary] + KEY_PATHS, input="\n".join(files) + "\n", text=True,
                       capture_output=True, check=False)
    if p.returncode != 0:
        raise RuntimeError(f"oracle_go failed ({p.returncode}): {p.stderr.strip()}")
    out = {}
    for line in p.stdout.splitlines():
        rec = json.loads(line)
        out[rec["file"]] = rec["verdict"]
    return out


def same_verdict(a, b):
    if a["accepted"] != b["accepted"]:
        return False
    return not a["accepted"] or (a["keys"] == b["keys"] and a["prefixes"] == b["prefixes"])


def expected_from_reference(ref):
    """What the agent must do with a document the references agree on:
    {"accepted": False, "why": ...} or {"accepted": True, "keys": {...}}."""
    if not ref["accepted"]:
        return {"accepted": False, "why": "not TOML: " + ref["error"].splitlines()[0][:160]}
    for p in PREFIXES:
        kind = ref["prefixes"].get(p, "absent")
        if kind not in ("absent", "table"):
            return {"accepted": False, "why": f"{p} is not a table but {article(kind)}"}
    for path, tv in ref["keys"].items():
        key = BY_PATH[path]
        if tv["type"] != key["type"]:
            return {"accepted": False, "why": f"{path} is {article(tv['type'])}, not "
                                              f"{article(key['type'])}"}
        if not value_ok(key, tv):
            return {"accepted": False, "why": f"{path} = {tv['value']!r} is out of range"}
    return {"accepted": True, "keys": ref["keys"]}


def article(word):
    return ("an " if word[0] in "aeiou" else "a ") + word


# ---- the agent --------------------------------------------------------------------------


def run_agent(vmhost, path):
    """The agent's verdict on one file: accepted with its settings, refused with its
    message, or a failure of another kind."""
    try:
        p = subprocess.run([vmhost, "config", "show", "--config", path, "--json"],
                           capture_output=True, timeout=20, check=False)
    except subprocess.TimeoutExpired:
        return {"exit": "timeout", "stderr": ""}
    err = p.stderr.decode("utf-8", "replace")
    out = {"exit": p.returncode, "stderr": err}
    if p.returncode == 0:
        try:
            out["json"] = json.loads(p.stdout)
        except ValueError as e:
            out["exit"] = "bad-json"
            out["stderr"] = f"stdout is not JSON ({e}): {p.stdout[:300]!r}"
    return out


def json_typed(v):
    """The TOML type a JSON value of the agent stands for."""
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, int):
        return "integer"
    if isinstance(v, str):
        return "string"
    return type(v).__name__


def compare(expected, agent, path, lines):
    """Mismatch descriptions (empty when the agent did what the rule requires)."""
    ex = agent["exit"]
    if ex not in (0, 1):
        return [f"agent failed: exit {ex}: {agent['stderr'].strip()[:300]}"]
    if not expected["accepted"]:
        if ex == 0:
            return [f"accepted, but must refuse ({expected['why']})"]
        return check_refusal(agent, path)
    if ex == 1:
        return [f"refused a document it must accept: {agent['stderr'].strip()[:300]}"]
    return check_settings(expected["keys"], agent["json"], lines)


def check_refusal(agent, path):
    if path not in agent["stderr"]:
        return [f"refused without naming the file: {agent['stderr'].strip()[:300]!r}"]
    return []


def check_settings(keys, js, lines):
    problems = []
    if js.get("config", {}).get("state") != "ok":
        problems.append(f"config state is {js.get('config')!r}, not ok")
    settings = js.get("settings", {})
    for path in KEY_PATHS:
        s = settings.get(path)
        if s is None:
            problems.append(f"{path}: missing from settings")
            continue
        if path not in keys:
            if s.get("source") != "default":
                problems.append(f"{path}: not in the document, but source {s.get('source')!r} "
                                f"value {s.get('value')!r}")
            continue
        want = keys[path]
        if s.get("source") != "file":
            problems.append(f"{path}: set to {want['value']!r} in the document, but source "
                            f"{s.get('source')!r} value {s.get('value')!r}")
            continue
        if json_typed(s.get("value")) != want["type"] or s.get("value") != want["value"]:
            problems.append(f"{path}: value {s.get('value')!r}, the references decode "
                            f"{want['value']!r}")
        if path in lines:
            lo, hi = lines[path]
            if not isinstance(s.get("line"), int) or not lo <= s["line"] <= hi:
                where = f"line {lo}" if lo == hi else f"lines {lo}-{hi}"
                problems.append(f"{path}: line {s.get('line')!r}, written on {where}")
    return problems


# ---- one run ----------------------------------------------------------------------------


class Case:
    """One generated document, its files and verdicts."""

    def __init__(self, index, doc, work):
        self.index = index
        self.doc = doc
        self.data, self.lines = doc.text(11)
        self.path = os.path.join(work, f"doc-{index:05d}.toml")
        self.twin = None
        if doc.is_11():
            self.twin_data, _ = doc.text(10)
            self.twin = os.path.join(work, f"doc-{index:05d}.v10.toml")
        self.py = self.go = self.py11 = self.go11 = self.agent = None
        self.expected = None
        self.problems = []
        self.skip = None
        self.gen_problem = None

    def write(self):
        with open(self.path, "wb") as f:
            f.write(self.data)
        if self.twin:
            with open(self.twin, "wb") as f:
                f.write(self.twin_data)


def decide(case):
    """Sets case.expected from the references' verdicts on the document (for a TOML 1.1
    document: on its 1.0 twin), or case.skip when they disagree; checks the generator's own
    expectation against it."""
    if not same_verdict(case.py, case.go):
        # Skipped: Debian's BurntSushi is 1.2.0, not the daemon's 1.6.0. Where only it
        # accepts, 1.6.0 sometimes agrees (extending a table made by dotted keys or an
        # inline table) and sometimes refuses (1.2.0 bugs, e.g. toml-test
        # key/duplicate-keys-08); where only tomllib accepts (an integer beyond int64), the
        # daemon refuses. Neither reference alone is the daemon's verdict.
        case.skip = skip_reason(case.py, case.go)
        return
    case.expected = expected_from_reference(case.py)
    mine = case.doc.expect()
    if mine["accepted"] != case.expected["accepted"] or (
            mine["accepted"] and mine["keys"] != case.expected["keys"]):
        case.gen_problem = (f"the generator expected {mine}, the references give "
                            f"{case.expected}")
    elif case.twin and (case.py11["accepted"] or case.go11["accepted"]):
        case.gen_problem = "a 1.0 reference accepts this TOML 1.1 document"


def skip_reason(py, go):
    if py["accepted"] != go["accepted"]:
        who = "tomllib" if py["accepted"] else "BurntSushi"
        other = go if py["accepted"] else py
        return f"only {who} accepts ({other['error'].splitlines()[0][:120]})"
    return "the references decode our keys differently"


def show_case(case, out):
    """The document (bytes repr) and every verdict, for a mismatch."""
    w = out.write
    w(f"\n=== document {case.index} (class {case.doc.cls}; "
      f"{', '.join(case.doc.constructs)})\n")
    w(f"file: {case.path}\n")
    w(f"bytes: {case.data!r}\n")
    if case.twin:
        w(f"1.0 twin ({case.twin}): {case.twin_data!r}\n")
        w(f"tomllib on the 1.1 document: {json.dumps(case.py11)}\n")
    w(f"tomllib:    {json.dumps(case.py, ensure_ascii=False)}\n")
    w(f"BurntSushi: {json.dumps(case.go, ensure_ascii=False)}\n")
    w(f"expected:   {json.dumps(case.expected, ensure_ascii=False)}\n")
    agent = dict(case.agent or {})
    if "json" in agent:
        agent["json"] = agent["json"].get("settings")
    w(f"agent:      {json.dumps(agent, ensure_ascii=False)}\n")
    for p in case.problems:
        w(f"MISMATCH: {p}\n")
    if case.gen_problem:
        w(f"GENERATOR: {case.gen_problem}\n")


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--vmhost", required=True, help="the ephemerd-vmhost binary")
    ap.add_argument("--oracle-go", required=True, help="oracle_go (build-oracle.sh)")
    ap.add_argument("--seed", default="1")
    ap.add_argument("--count", type=int, default=5000)
    ap.add_argument("--work", default="build/config-diff/run")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--show", type=int, default=10, help="print at most N mismatches")
    a = ap.parse_args(argv)
    t0 = time.monotonic()

    shutil.rmtree(a.work, ignore_errors=True)
    os.makedirs(a.work)
    work = os.path.abspath(a.work)
    cases = [Case(i, gen.gen_doc(a.seed, i), work) for i in range(a.count)]
    for c in cases:
        c.write()

    files = [c.path for c in cases] + [c.twin for c in cases if c.twin]
    with ThreadPoolExecutor(max_workers=1) as go_pool, \
            ThreadPoolExecutor(max_workers=max(1, a.jobs)) as pool:
        go_future = go_pool.submit(run_go_oracle, a.oracle_go, files)
        agent_futures = [pool.submit(run_agent, a.vmhost, c.path) for c in cases]
        for c in cases:
            c.py = oracle_py.verdict(c.twin_data if c.twin else c.data, KEY_PATHS)
            if c.twin:
                c.py11 = oracle_py.verdict(c.data, KEY_PATHS)
        go = go_future.result()
        for c, f in zip(cases, agent_futures):
            c.agent = f.result()
    for c in cases:
        c.go = go[c.twin or c.path]
        if c.twin:
            c.go11 = go[c.path]
        decide(c)
        if c.expected:
            c.problems = compare(c.expected, c.agent, c.path, c.lines)
    return report(cases, a, time.monotonic() - t0)


def report(cases, a, secs):
    out = sys.stdout
    checked = [c for c in cases if c.expected]
    bad = [c for c in checked if c.problems]
    genbad = [c for c in cases if c.gen_problem]
    shown = bad + [g for g in genbad if g not in bad]
    with open(os.path.join(a.work, "mismatches.txt"), "w", encoding="utf-8") as f:
        for c in shown:
            show_case(c, f)
    for c in shown[:a.show]:
        show_case(c, out)
    if len(shown) > a.show:
        out.write(f"\n({len(shown) - a.show} more in {a.work}/mismatches.txt)\n")
    by_class = {}
    for c in cases:
        k = by_class.setdefault(c.doc.cls, [0, 0, 0, 0])
        k[0] += 1
        k[1] += bool(c.expected and c.expected["accepted"])
        k[2] += bool(c.skip)
        k[3] += bool(c.problems)
    out.write(f"\nconfig-diff: seed {a.seed}, {len(cases)} documents in {secs:.1f}s "
              f"(work dir {a.work})\n")
    acc = sum(1 for c in checked if c.expected["accepted"])
    out.write(f"  checked {len(checked)}: {acc} to accept, {len(checked) - acc} to refuse; "
              f"skipped {len(cases) - len(checked)} (the references disagree)\n")
    for cls, (n, ok, sk, mm) in sorted(by_class.items()):
        out.write(f"  {cls:9} {n:5} documents, {ok:5} to accept, {sk:4} skipped, "
                  f"{mm:5} mismatches\n")
    skips = {}
    for c in cases:
        if c.skip:
            why = re.sub(r"\(at line.*?\)|\d+|'[^']*'|\"[^\"]*\"", "…", c.skip)
            skips[why] = skips.get(why, 0) + 1
    for why, n in sorted(skips.items(), key=lambda x: -x[1])[:8]:
        out.write(f"  skipped {n:4}: {why}\n")
    classes = {}
    for c in bad:
        for key in sorted({mismatch_class(p) for p in c.problems}):
            classes.setdefault(key, []).append(c.index)
    for key, idx in sorted(classes.items(), key=lambda x: -len(x[1])):
        out.write(f"  MISMATCH {len(idx):5} x {key}  (e.g. documents {idx[:5]})\n")
    if genbad:
        out.write(f"  GENERATOR {len(genbad)} documents where the generator's expectation "
                  f"differs from the references (e.g. {[c.index for c in genbad[:5]]})\n")
    out.write(f"config-diff: {'FAILED' if bad or genbad else 'passed'}: {len(bad)} "
              f"mismatching documents\n")
    return 1 if bad or genbad else 0


def mismatch_class(problem):
    """A short class name for a mismatch description (for the summary)."""
    p = problem
    if p.startswith("accepted, but must refuse (not TOML"):
        return "accepted a document that is not TOML"
    if p.startswith("accepted, but must refuse"):
        why = re.sub(r"= (-?\d+|'[^']*') is", "= … is", p[len("accepted, but must refuse ("):-1])
        return "accepted, but " + why
    if p.startswith("refused a document"):
        msg = p.split(": ", 1)[1] if ": " in p else p
        return "refused valid: " + classify_message(msg)
    if p.startswith("agent failed"):
        return "agent failed (crash, usage, timeout)"
    if ": line " in p:
        return "wrong line"
    if p.startswith("refused without"):
        return "refusal message without the file name"
    if "in the document, but source 'default'" in p:
        return "a key the document sets is reported as default"
    if "not in the document, but source" in p:
        return "a key the document does not set is reported as set"
    return "wrong value"


def classify_message(msg):
    """The agent's reason without the file, line and values."""
    m = re.sub(r"^.*?\.toml:\d+: ", "", msg.splitlines()[0] if msg else "")
    m = re.sub(r'"[^"]*"', '"…"', m)
    m = re.sub(r"\b\d+\b", "N", m)
    return m[:110]


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
