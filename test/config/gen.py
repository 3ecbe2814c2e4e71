#!/usr/bin/python3
"""gen.py — seeded, deterministic generator of random TOML documents for the differential
test of the host config (difftest.py; test/README.md, "Differential test of config.toml").

Every document sets some of our keys (ourkeys.py) in one of their legal spellings — dotted,
quoted, under a [header] at any depth, in inline tables (nested, dotted inside), with
whitespace and comments — among unrelated content of every TOML type, and look-alikes that
must not count: our key names in [[arrays of tables]], in other tables, in quoted keys
holding dots, and inside multi-line strings, arrays of strings and comments.

Classes (Doc.cls):
  valid     valid TOML 1.0 with good values of our keys
  badvalue  valid TOML 1.0, but one of our keys has the wrong type or is out of range, or
            a prefix of ours (vm, vm.linux, dind, log) is not a table
  invalid   not TOML (1.0 nor 1.1): one broken construct, a duplicate key, a table
            defined twice...
  toml11    valid only in TOML 1.1: multi-line inline tables with comments and trailing
            commas, \\e and \\xHH escapes (also in keys: ["d\\x69nd"]), times without
            seconds. Each piece is an Alt: its 1.1 spelling and its 1.0 equivalent, so the
            generator renders every document twice — doc.text(11) for the agent, doc.text(10)
            for the 1.0 references — and the 1.1 document must decode as its 1.0 twin.
            For the other classes both renderings are the same.

Each document also carries the generator's own expectation (Doc.expect: accepted, and the
typed values of our keys) and, per rendering, the line range where each of our keys is
written (from the start of its statement to the line of its last key part).

One function per construct: gen_* return value chunks, spell_* key/header spellings,
add_* put statements into the document, mutate_* break a document.

Usage: gen.py --seed S --count N [--out DIR] [--prefix P] [--index I] [--mode 10|11]
              [--cover LIMIT]
  without --out, prints the documents (the agent's rendering, or the 1.0 twin with
  --mode 10) with their class and constructs; with --out, writes DIR/P<i>.toml. --cover
  writes only a few documents that together use every construct (P<class>-<i>.toml): the
  seeds in test/fuzz/corpus/toml/gen-*.toml are `gen.py --seed 1 --count 2000 --cover 80
  --out test/fuzz/corpus/toml --prefix gen-`.
"""
import argparse
import os
import random
import re
import sys

sys.dont_write_bytecode = True  # nothing written into the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ourkeys import KEYS  # noqa: E402

BARE = re.compile(r"^[A-Za-z0-9_-]+$")

# ---- chunks: the pieces a document is rendered from ------------------------------------


class Alt:
    """A TOML 1.1 spelling (v11) and its TOML 1.0 equivalent (v10); both are chunks."""

    __slots__ = ("v10", "v11")

    def __init__(self, v10, v11):
        self.v10, self.v11 = v10, v11


class At:
    """Marks where one of our keys is written (the line of its last key part)."""

    __slots__ = ("path",)

    def __init__(self, path):
        self.path = path


def render(stmts, mode):
    """Renders statements (each a chunk: str, Alt, At or a list of chunks) for TOML 1.0
    (mode 10) or 1.1 (mode 11). Returns the text and, for each of our keys written, its line
    range (line of its statement's start, line of the key)."""
    out, lines = [], {}
    line = 1
    for st in stmts:
        start = line

        def walk(c):
            nonlocal line
            if isinstance(c, str):
                out.append(c)
                line += c.count("\n")
            elif isinstance(c, Alt):
                walk(c.v11 if mode == 11 else c.v10)
            elif isinstance(c, At):
                lines[c.path] = (start, line)
            else:
                for x in c:
                    walk(x)

        walk(st)
    return "".join(out), lines


def has_alt(c):
    """Whether a chunk holds a TOML 1.1 piece."""
    if isinstance(c, Alt):
        return True
    if isinstance(c, list):
        return any(has_alt(x) for x in c)
    return False


# ---- the document being built -----------------------------------------------------------


class Section:
    """A [header] or [[header]] and the statements under it."""

    def __init__(self, header, path):
        self.header = header
        self.path = path
        self.stmts = []


class Doc:
    """A document being generated: top-level statements, sections, the names used in each
    table, and what the generator expects of it."""

    def __init__(self, rng, cls):
        self.rng = rng
        self.cls = cls
        self.root = []  # statements before the first header
        self.groups = []  # lists of sections that stay together, in document order
        self.used = {}  # table path (tuple) -> names used in it
        self.expect_keys = {}  # our key path -> {"type", "value"}
        self.expect_accepted = cls in ("valid", "toml11")
        self.constructs = []  # names of the constructs used, for reports
        self.bom = False
        self.eol = "lf"
        self.final_newline = True
        self.tail = []  # statements appended after everything (unterminated constructs)
        self.v11 = cls == "toml11"

    # -- names --
    def take(self, table, name):
        """Reserves name in table; False when it is taken."""
        used = self.used.setdefault(table, set())
        if name in used:
            return False
        used.add(name)
        return True

    def fresh(self, table, pool=None):
        """An unused key name of table, from pool or the default pool."""
        pool = pool or NAME_POOL
        for _ in range(8):
            name = self.rng.choice(pool)
            if self.take(table, name):
                return name
        n = len(self.used.get(table, ()))
        while not self.take(table, f"k{n}"):
            n += 1
        return f"k{n}"

    def note(self, construct):
        if construct not in self.constructs:
            self.constructs.append(construct)

    # -- structure --
    def section(self, header, path, group=None):
        sec = Section(header, path)
        if group is None:
            group = []
            self.groups.append(group)
        group.append(sec)
        return sec, group

    def statements(self):
        stmts = list(self.root)
        for group in self.groups:
            for sec in group:
                stmts.append(sec.header)
                stmts.extend(sec.stmts)
        stmts.extend(self.tail)
        return stmts

    # -- output --
    def text(self, mode):
        """(bytes, {our key: (first line, key line)}) of the rendering for mode 10 or 11."""
        text, lines = render(self.statements(), mode)
        if not self.final_newline and text.endswith("\n"):
            text = text[:-1]
        text = apply_eol(text, self.eol, random.Random(len(text)))
        data = text.encode("utf-8", "surrogateescape")
        if self.bom:
            data = b"\xef\xbb\xbf" + data
        return data, lines

    def is_11(self):
        return has_alt(self.statements())

    def expect(self):
        return {"accepted": self.expect_accepted, "keys": dict(self.expect_keys)}


def apply_eol(text, eol, rng):
    """LF, CRLF, or a mix per line (all valid TOML newlines)."""
    if eol == "lf":
        return text
    if eol == "crlf":
        return text.replace("\n", "\r\n")
    return "".join(
        ln + ("\r\n" if rng.random() < 0.5 else "\n") if ln_end else ln
        for ln, ln_end in split_keep(text)
    )


def split_keep(text):
    """(line, whether a newline followed it) for each line of text."""
    parts = text.split("\n")
    for i, p in enumerate(parts):
        yield p, i < len(parts) - 1


# ---- whitespace and comments ------------------------------------------------------------

NAME_POOL = [
    "name", "title", "port", "host", "tags", "ratio", "when", "notes", "path", "owner", "id",
    "max-retries", "timeout_s", "labels", "env", "image", "mode", "1234", "a-b_c", "x",
    "_under", "-dash", "key with spaces", "ünïcödé", "", "dotted.name", "quote\"d", "C:\\dir",
    "cpus", "memory_mb", "enabled", "level", "format", "linux", "vm", "dind", "log", "true",
    "inf", "nan", "2024-01-01",
]

FAKE_LINES = [
    "[vm.linux]", "cpus = 9", "memory_mb = 12345", "[dind]", "enabled = true",
    "[log]", 'level = "trace"', "vm.linux.swap_mb = 7", "[[runners]]",
    'log = { format = "json" }', "dind.allow_privileged = true", "# not a comment",
    "disk_size_gb = 3",
]


def ws(rng, allow_empty=True):
    return rng.choice(["", " ", "  ", "\t", " \t "] if allow_empty else [" ", "  ", "\t", " \t"])


def eq(rng):
    return ws(rng) + "=" + ws(rng)


def dot(rng):
    return rng.choice([".", ".", ".", " . ", ". ", " .", "\t.\t"])


def gen_comment_text(rng):
    """Comment text: look-alikes of our keys, unicode, quotes and brackets (no control
    characters: they are not allowed in comments)."""
    return rng.choice([
        " a comment", "", " [vm.linux] cpus = 9", ' level = "trace"', " ünïcödé — 日本 😀",
        ' "quoted" \'x\' [y] {z} = #', "#", " dind.enabled = true", "\tcpus=1",
    ])


def trailing(rng, p=0.3):
    """An optional trailing "# comment" after a value or header."""
    if rng.random() < p:
        return ws(rng, False) + "#" + gen_comment_text(rng)
    return ws(rng) if rng.random() < 0.2 else ""


def filler(rng):
    """Blank lines and full-line comments between statements."""
    r = rng.random()
    if r < 0.5:
        return ""
    if r < 0.75:
        return "\n"
    if r < 0.9:
        return ws(rng) + "#" + gen_comment_text(rng) + "\n"
    return "\n" + ws(rng) + "#" + gen_comment_text(rng) + "\n" + ws(rng) + "\n"


# ---- strings ----------------------------------------------------------------------------


def escape_basic(s, rng, v11=False):
    """A basic-string body for s: escapes what must be escaped, and some of the rest."""
    out = []
    for ch in s:
        o = ord(ch)
        if ch == '"':
            out.append(rng.choice(['\\"', "\\u0022"]))
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append(rng.choice(["\\t", "\t"]))
        elif o < 0x20 or o == 0x7F:
            out.append(f"\\u{o:04x}")
        elif rng.random() < 0.08:
            out.append(escape_char(ch, rng, v11))
        else:
            out.append(ch)
    return out


def escape_char(ch, rng, v11):
    """ch as an escape: \\uXXXX or \\UXXXXXXXX, or in TOML 1.1 \\xHH (with its 1.0 twin)."""
    o = ord(ch)
    if v11 and o <= 0xFF and rng.random() < 0.5:
        return Alt(f"\\u{o:04X}", f"\\x{o:02x}")
    if rng.random() < 0.5 and o <= 0xFFFF:
        return f"\\u{o:04x}"
    return f"\\U{o:08X}"


def gen_basic_string(rng, s, v11=False):
    return ['"'] + escape_basic(s, rng, v11) + ['"']


def gen_literal_string(rng, s):
    return "'" + s + "'"


def gen_ml_basic_string(rng, s, v11=False):
    """\"\"\"...\"\"\" : an optional newline right after the opening quotes (trimmed), and
    sometimes a line-ending backslash splitting the text (it eats the newline and the
    whitespace after it)."""
    body = []
    for ch in s:
        if ch == '"':
            body.append(rng.choice(['\\"', '"']))
        elif ch == "\\":
            body.append("\\\\")
        elif ch == "\n":
            body.append(rng.choice(["\n", "\\n"]))
        elif ord(ch) < 0x20 and ch != "\t" or ord(ch) == 0x7F:
            body.append(f"\\u{ord(ch):04x}")
        else:
            body.append(ch)
    # no raw quote may touch the closing delimiter run beyond two
    if body and body[-1] == '"':
        body[-1] = '\\"'
    # a line-ending backslash eats the whitespace and newlines after it: only before text
    cuts = [i for i in range(1, len(body)) if body[i][:1] not in (" ", "\t", "\n")]
    if cuts and rng.random() < 0.3:
        body.insert(rng.choice(cuts), "\\" + ws(rng) + "\n" + ws(rng))
    lead = "\n" if rng.random() < 0.5 else ""
    return ['"""', lead] + body + ['"""']


def gen_ml_literal_string(rng, s):
    lead = "\n" if rng.random() < 0.5 else ""
    return "'''" + lead + s + "'''"


def can_literal(s):
    return "'" not in s and "\n" not in s and all(
        c == "\t" or (ord(c) >= 0x20 and ord(c) != 0x7F) for c in s)


def can_ml_literal(s):
    return "'''" not in s and not s.endswith("'") and all(
        c in "\t\n" or (ord(c) >= 0x20 and ord(c) != 0x7F) for c in s)


def gen_string(rng, s, v11=False):
    """s as any of the four string forms that can hold it."""
    forms = ["basic", "ml_basic"]
    if can_literal(s):
        forms.append("literal")
    if can_ml_literal(s):
        forms.append("ml_literal")
    form = rng.choice(forms)
    if form == "basic":
        return gen_basic_string(rng, s, v11)
    if form == "ml_basic":
        return gen_ml_basic_string(rng, s, v11)
    if form == "literal":
        return gen_literal_string(rng, s)
    return gen_ml_literal_string(rng, s)


TEXTS = [
    "", "hello", "ünïcödé — 日本 😀", "C:\\Users\\x", 'say "hi"', "tab\there", "# not a comment",
    "a = 1", "[vm.linux]", "cpus = 9", "line1\nline2", "x'y", "\u0000 nul", "trailing \\",
    "{ braces }", "  spaces  ", "\u007f del", "\u001b[1m bold", "é",
]


def gen_text_value(rng, v11):
    """An unrelated string, sometimes with TOML 1.1 escapes."""
    if v11 and rng.random() < 0.5:
        return gen_string_11(rng)
    return gen_string(rng, rng.choice(TEXTS), v11)


def gen_string_11(rng):
    """A basic string using \\e or \\xHH, and its 1.0 twin."""
    if rng.random() < 0.5:
        return ['"', Alt("\\u001b", "\\e"), "[1mbold", Alt("\\u001B", "\\e"), '[0m"']
    return ['"null ', Alt("\\u0000", "\\x00"), " a=", Alt("\\u0061", "\\x61"),
            " é=", Alt("\\u00e9", "\\xE9"), '"']


def gen_fake_toml_string(rng):
    """A multi-line string whose lines look like TOML setting our keys: must not count."""
    lines = rng.sample(FAKE_LINES, rng.randint(2, 5))
    body = "\n".join(lines)
    if rng.random() < 0.5:
        return '"""\n' + body + '\n"""'
    return "'''\n" + body + "\n'''"


# ---- numbers, booleans, dates -----------------------------------------------------------


def underscore(digits, rng):
    """Underscores between some digits (never leading, trailing or doubled)."""
    if len(digits) < 2 or rng.random() < 0.6:
        return digits
    out = digits[0]
    for d in digits[1:]:
        if rng.random() < 0.3:
            out += "_"
        out += d
    return out


def gen_int_spelling(rng, n):
    """Integer n in any spelling: decimal with optional sign and underscores, or (when
    n >= 0) hex, octal, binary."""
    forms = ["dec"] * 4
    if n >= 0:
        forms += ["hex", "oct", "bin"]
    form = rng.choice(forms)
    if form == "hex":
        return "0x" + underscore(rng.choice([f"{n:x}", f"{n:X}", f"{n:04x}"]), rng)
    if form == "oct":
        return "0o" + underscore(f"{n:o}", rng)
    if form == "bin":
        return "0b" + underscore(f"{n:b}", rng)
    sign = "-" if n < 0 else rng.choice(["", "", "+"])
    return sign + underscore(str(abs(n)), rng)


def gen_integer(rng):
    n = rng.choice([0, 1, -1, 42, 2**63 - 1, -(2**63), rng.randint(-10**6, 10**6)])
    return gen_int_spelling(rng, n)


def gen_float(rng):
    return rng.choice([
        "0.5", "-0.0", "+1.5", "3.1415", "6.02e23", "1e-3", "1E+6", "1_000.000_1", "5e+22",
        "inf", "+inf", "-inf", "nan", "+nan", "-nan", "224_617.445_991_228", "-2E-2", "1.0",
        "0e0", "9_224_617.445_991_228_313",
    ])


def gen_boolean(rng):
    return rng.choice(["true", "false"])


def gen_seconds(rng, v11, secs):
    """":SS[.frac]" — or, in TOML 1.1, nothing (an Alt with the 1.0 ":00")."""
    if v11 and rng.random() < 0.5:
        return Alt(":00", "")
    return secs + rng.choice(["", "", ".5", ".123456", ".999999"])


def gen_datetime(rng, v11=False):
    """An offset date-time, local date-time, local date or local time."""
    kind = rng.choice(["offset", "local_dt", "date", "time"])
    date = rng.choice(["1979-05-27", "2024-02-29", "0001-01-01", "9999-12-31"])
    hm = rng.choice(["07:32", "00:00", "23:59"])
    sep = rng.choice(["T", "T", " ", "t"])
    if kind == "date":
        return date
    if kind == "time":
        return [hm, gen_seconds(rng, v11, ":" + rng.choice(["00", "59", "30"]))]
    secs = gen_seconds(rng, v11, ":" + rng.choice(["00", "59", "30"]))
    if kind == "local_dt":
        return [date, sep, hm, secs]
    return [date, sep, hm, secs, rng.choice(["Z", "z", "+00:00", "-07:00", "+05:30"])]


# ---- arrays and inline tables ------------------------------------------------------------


def gen_value(rng, depth=0, v11=False):
    """Any unrelated TOML value."""
    kinds = ["int", "float", "bool", "str", "date"]
    if depth < 3:
        kinds += ["array", "inline"]
    kind = rng.choice(kinds)
    if kind == "int":
        return gen_integer(rng)
    if kind == "float":
        return gen_float(rng)
    if kind == "bool":
        return gen_boolean(rng)
    if kind == "str":
        if rng.random() < 0.15:
            return gen_fake_toml_string(rng)
        return gen_text_value(rng, v11)
    if kind == "date":
        return gen_datetime(rng, v11)
    if kind == "array":
        return gen_array(rng, depth + 1, v11)
    return gen_inline_table(rng, [], depth + 1, v11)


def gen_array(rng, depth, v11):
    """An array of mixed values, sometimes over several lines with comments and a trailing
    comma (valid TOML 1.0)."""
    items = [gen_value(rng, depth, v11) for _ in range(rng.randint(0, 4))]
    if rng.random() < 0.2:
        items.append('"[vm.linux]"')
    if rng.random() < 0.4:
        out = ["["]
        for it in items:
            out += ["\n", ws(rng), it, ","]
            if rng.random() < 0.3:
                out.append(" #" + gen_comment_text(rng))
        out += ["\n", "]"]
        return out
    out = ["[", ws(rng)]
    for i, it in enumerate(items):
        out += [", " if i else "", it]
    if items and rng.random() < 0.3:
        out.append(",")
    out += [ws(rng), "]"]
    return out


def gen_inline_table(rng, members, depth=0, v11=False, table=None):
    """An inline table with the given members — (first key part, key chunks, value chunks) —
    plus unrelated ones (never named like a member, nor like our keys when table is one of
    ours); in TOML 1.1 sometimes over several lines with comments and a trailing comma (its
    1.0 twin is the same table on one line)."""
    taken = {m[0] for m in members} | RESERVED.get(table, set())
    allm = [(k, v) for _, k, v in members]
    for _ in range(rng.randint(0, 2 if depth < 3 else 0)):
        name = rng.choice(NAME_POOL)
        if name in taken:
            continue
        taken.add(name)
        allm.append((spell_key(rng, name, v11), gen_value(rng, depth + 1, v11)))
    rng.shuffle(allm)
    one = ["{", ws(rng)]
    for i, (k, v) in enumerate(allm):
        one += [("," + ws(rng)) if i else "", k, eq(rng), v]
    one += [ws(rng), "}"]
    if not v11 or not allm or rng.random() < 0.4:
        return one
    return Alt(one, gen_ml_inline_11(rng, allm))


def gen_ml_inline_11(rng, members):
    """TOML 1.1: an inline table over several lines, comments inside, trailing comma."""
    out = ["{"]
    if rng.random() < 0.3:
        out.append(" #" + gen_comment_text(rng))
    for i, (k, v) in enumerate(members):
        out += ["\n", ws(rng), k, eq(rng), v]
        if i < len(members) - 1 or rng.random() < 0.6:
            out.append(",")
        if rng.random() < 0.3:
            out.append(" #" + gen_comment_text(rng))
    out += ["\n", ws(rng), "}"]
    return out


def gen_inline_trailing_comma_11(rng, members):
    """TOML 1.1: a one-line inline table with a trailing comma (1.0 twin: without)."""
    one = ["{ "]
    for i, (k, v) in enumerate(members):
        one += [", " if i else "", k, eq(rng), v]
    return Alt(one + [" }"], one + [", }"])


# ---- keys -------------------------------------------------------------------------------

# Names that unrelated content may not use in our tables (they are ours).
RESERVED = {
    (): {"vm", "dind", "log"},
    ("vm",): {"linux"},
    ("vm", "linux"): {"cpus", "memory_mb", "disk_size_gb", "swap_mb"},
    ("dind",): {"enabled", "allow_privileged"},
    ("log",): {"level", "format"},
}


def spell_key(rng, name, v11=False):
    """One key part: bare when it can be, else (or sometimes) basic or literal quoted, with
    escapes; in TOML 1.1 sometimes \\xHH inside a quoted key."""
    bare = bool(BARE.match(name))
    r = rng.random()
    if bare and r < 0.6:
        return name
    if can_literal(name) and r < 0.8:
        return "'" + name + "'"
    return gen_basic_string(rng, name, v11)


def spell_dotted(rng, parts, v11=False):
    """A dotted key of the given parts."""
    out = []
    for i, p in enumerate(parts):
        if i:
            out.append(dot(rng))
        out.append(spell_key(rng, p, v11))
    return out


def spell_header(rng, parts, aot=False, v11=False):
    """[a.b] or [[a.b]] with whitespace variations, a trailing comment, its newline."""
    o, c = ("[[", "]]") if aot else ("[", "]")
    return [ws(rng) if rng.random() < 0.2 else "", o, ws(rng), spell_dotted(rng, parts, v11),
            ws(rng), c, trailing(rng), "\n"]


def keyval(rng, key, value, indent=True):
    """A key = value statement with its newline."""
    return [ws(rng) if indent and rng.random() < 0.2 else "", key, eq(rng), value,
            trailing(rng), "\n"]


# ---- values of our keys -----------------------------------------------------------------


def gen_our_value(rng, key, v11):
    """A good value of one of our keys: (chunks, typed value)."""
    if key["type"] == "integer":
        lo, hi = key["range"]
        n = rng.choice([lo, hi, rng.randint(lo, min(hi, lo + 5000)), rng.randint(lo, hi)])
        return gen_int_spelling(rng, n), {"type": "integer", "value": n}
    if key["type"] == "boolean":
        b = rng.random() < 0.5
        return ("true" if b else "false"), {"type": "boolean", "value": b}
    s = rng.choice(key["choices"])
    return gen_our_string(rng, s, v11), {"type": "string", "value": s}


def gen_our_string(rng, s, v11):
    """A choice string in any spelling, including an escape inside and, for 1.1, \\xHH."""
    if v11 and rng.random() < 0.3:
        i = rng.randrange(len(s))
        return ['"', s[:i], Alt(f"\\u{ord(s[i]):04x}", f"\\x{ord(s[i]):02x}"), s[i + 1:], '"']
    return gen_string(rng, s, False)


BAD_VALUES = {
    "integer": ["0", "-1", "2.0", '"2"', "true", "[2]", "{ n = 2 }", "1979-05-27", "inf",
                "99999999999"],
    "boolean": ['"true"', "1", "0", "[true]", "{}", '"yes"', "2024-01-01T00:00:00Z"],
    "string": ["1", "true", "[\"info\"]", "{ level = \"info\" }", '"INFO"', '"verbose"', '""',
               '" info"', "07:32:00", "1.5"],
}


def gen_bad_value(rng, key):
    """A value of one of our keys that the agent must refuse: wrong type or out of range."""
    if key["type"] == "integer" and rng.random() < 0.6:
        lo, hi = key["range"]
        n = rng.choice([lo - 1, hi + 1, lo - rng.randint(1, 1000), hi + rng.randint(1, 10**6)])
        if n < lo or n > hi:
            return gen_int_spelling(rng, n)
    if key["type"] == "string" and rng.random() < 0.4:
        return gen_string(rng, rng.choice(["INFO", "Debug", "verbose", "yaml", "", "info ",
                                           "info\n", "jsonl"]), False)
    bad = [v for v in BAD_VALUES[key["type"]] if not (v == "0" and key.get("range", (1,))[0] <= 0)]
    return rng.choice(bad)


# ---- our keys, in every legal spelling --------------------------------------------------


def group_of(path):
    parts = path.split(".")
    return tuple(parts[:-1]), parts[-1]


def plan_keys(doc):
    """Chooses which of our keys the document sets and their values; returns
    {table path: [(leaf, value chunks, typed value, key path)]}."""
    rng = doc.rng
    p = rng.choice([0.2, 0.5, 0.8, 1.0])
    plan = {}
    for key in KEYS:
        if rng.random() >= p:
            continue
        chunks, tv = gen_our_value(rng, key, doc.v11)
        table, leaf = group_of(key["path"])
        plan.setdefault(table, []).append((leaf, chunks, tv, key["path"]))
    return plan


def member(rng, rel_parts, leaf_path, value, v11):
    """An inline-table member setting one of our keys: (first part, key chunks, value)."""
    return (rel_parts[0], [spell_dotted(rng, rel_parts, v11), At(leaf_path)], value)


def spell_inner(doc, table, rest, leaves):
    """Members of the inline table that is our table's prefix table[:-len(rest)] (or the
    table itself when rest is empty), holding our leaves: dotted ("linux.cpus = 2") or
    nested inline tables ("linux = { cpus = 2 }")."""
    rng = doc.rng
    if not rest or rng.random() < 0.5:
        return [member(rng, rest + [leaf], path, val, doc.v11) for leaf, val, _, path in leaves]
    inner = spell_inner(doc, table, rest[1:], leaves)
    here = tuple(table[:len(table) - len(rest) + 1])
    return [(rest[0], [spell_key(rng, rest[0], doc.v11)],
             gen_inline_table(rng, inner, 1, doc.v11, here))]


def add_group(doc, table, leaves, form):
    """Writes our keys of one table (vm.linux, dind or log) in the chosen form (choose_form):
    ("header", k): under a [header] naming the first k parts of the table (k = 0: at top
    level), the rest of the path dotted: [vm.linux] cpus, [vm] linux.cpus, vm.linux.cpus;
    ("inline", k, j): under that header, the parts k..j of the table as one key holding an
    inline table: [vm] linux = { cpus }, vm.linux = { cpus }, vm = { linux.cpus } or
    vm = { linux = { cpus } }."""
    rng = doc.rng
    kind, k = form[0], form[1]
    base, rest = list(table[:k]), list(table[k:])
    if k:
        if doc.v11 and rng.random() < 0.3:
            header = spell_our_table_11(rng, base)
            doc.note("1.1: \\xHH in the header of our table")
        else:
            header = spell_header(rng, base, False, doc.v11)
        sec, _ = doc.section(header, tuple(base))
        target = sec.stmts
        doc.note(f"our keys under [{'.'.join(base)}]")
    else:
        target = doc.root
    if rest:
        doc.take(tuple(base), rest[0])
    if kind == "header":
        if rest:
            doc.note("our keys dotted" + (" under a header" if k else " at top level"))
        for leaf, val, _, path in leaves:
            target.append(filler(rng))
            target.append(keyval(rng, [spell_dotted(rng, rest + [leaf], doc.v11), At(path)], val))
    else:
        j = form[2]
        outer, inner_rest = rest[:j + 1], rest[j + 1:]
        doc.note("our keys in an inline table" + (" (nested)" if inner_rest else ""))
        members = spell_inner(doc, table, inner_rest, leaves)
        here = tuple(table[:len(table) - len(inner_rest)])
        value = gen_inline_table(rng, members, 0, doc.v11, here)
        target.append(filler(rng))
        target.append(keyval(rng, spell_dotted(rng, outer, doc.v11), value))
    if k:
        add_unrelated_keys(doc, target, tuple(base), rng.randint(0, 3))
        rng.shuffle(target)


def choose_form(rng, table):
    """A legal form for writing a table of ours (see add_group)."""
    n = len(table)
    k = rng.randint(0, n)
    if k == n or rng.random() < 0.4:
        return ("header", k)
    return ("inline", k, rng.randint(0, n - k - 1))


def add_our_keys(doc, plan, skip=()):
    """All planned keys, table by table (none under a first part in skip), plus the extras
    each form allows."""
    rng = doc.rng
    vm_form = None
    for table in [("vm", "linux"), ("dind",), ("log",)]:
        if table[0] in skip:
            continue
        leaves = plan.get(table, [])
        if not leaves and rng.random() < 0.5:
            continue
        form = choose_form(rng, table)
        for _, _, tv, path in leaves:
            doc.expect_keys[path] = tv
        add_group(doc, table, leaves, form)
        if table == ("vm", "linux"):
            vm_form = form
    if "vm" not in skip:
        add_prefix_extras(doc, vm_form)


def add_prefix_extras(doc, vm_form):
    """Unrelated tables next to ours that the form of vm.linux allows: [vm] (when vm.linux
    has its own header), [vm.windows] (not when vm is an inline table), [vm.linux.sub] (not
    when vm.linux is one), [[vm.linux.extra]] (when vm.linux has its own header or is not
    written)."""
    rng = doc.rng
    if vm_form is None:
        if rng.random() < 0.3:
            add_aot(doc, ["vm", "linux", "extra"], rng.randint(1, 2))
        return
    kind = vm_form[0]
    vm_inline = vm_form == ("inline", 0, 0)
    linux_inline = kind == "inline"
    if vm_form == ("header", 2) and rng.random() < 0.5:
        sec, _ = doc.section(spell_header(rng, ["vm"]), ("vm",))
        add_unrelated_keys(doc, sec.stmts, ("vm",), rng.randint(0, 3))
        doc.note("[vm] next to [vm.linux]")
    if not vm_inline and rng.random() < 0.4 and doc.take(("vm",), "windows"):
        sec, _ = doc.section(spell_header(rng, ["vm", "windows"]), ("vm", "windows"))
        add_unrelated_keys(doc, sec.stmts, ("vm", "windows"), rng.randint(0, 3))
        doc.note("[vm.windows]")
    if not linux_inline and rng.random() < 0.3 and doc.take(("vm", "linux"), "sub"):
        sec, _ = doc.section(spell_header(rng, ["vm", "linux", "sub"]), ("vm", "linux", "sub"))
        add_unrelated_keys(doc, sec.stmts, ("vm", "linux", "sub"), rng.randint(0, 2),
                           pool=["cpus", "memory_mb", "level", "x"])
        doc.note("[vm.linux.sub] with our names")
    if vm_form == ("header", 2) and rng.random() < 0.4:
        add_aot(doc, ["vm", "linux", "extra"], rng.randint(1, 2))


# ---- unrelated content ------------------------------------------------------------------


def add_unrelated_keys(doc, target, table, n, pool=None):
    """n unrelated key = value statements in a table (never named like ours)."""
    rng = doc.rng
    for name in RESERVED.get(table, ()):
        doc.take(table, name)
    for _ in range(n):
        name = doc.fresh(table, pool)
        target.append(filler(rng))
        target.append(keyval(rng, spell_key(rng, name, doc.v11), gen_value(rng, 0, doc.v11)))


def claim_table(doc, first):
    """Whether a [header] may start with first: not a top-level key (tables share it)."""
    if first in doc.used.get(("#tables",), ()):
        return True
    if not doc.take((), first):
        return False
    doc.take(("#tables",), first)
    return True


def add_root_unrelated(doc):
    """Top-level unrelated keys, of every type, and dotted ones."""
    rng = doc.rng
    add_unrelated_keys(doc, doc.root, (), rng.randint(0, 5))
    if rng.random() < 0.3:
        name = doc.fresh((), ["fruit", "physical", "site"])
        doc.root.append(keyval(rng, spell_dotted(rng, [name, "b", "c"], doc.v11),
                               gen_value(rng, 0, doc.v11)))
        doc.note("unrelated dotted key")


def add_lookalike_root_keys(doc):
    """Top-level quoted keys that look like ours but are single keys: "vm.linux.cpus" = 7."""
    rng = doc.rng
    for name in rng.sample(["vm.linux.cpus", "dind.enabled", "log.level", "vm.linux"],
                           rng.randint(1, 2)):
        if doc.take((), name):
            key = gen_basic_string(rng, name) if rng.random() < 0.5 else "'" + name + "'"
            doc.root.append(keyval(rng, key, rng.choice(["7", "true", '"trace"'])))
    doc.note("quoted keys holding dots")


def gen_lookalike_tables(rng, v11):
    """An inline table holding our tables and keys one level down (they are not ours)."""
    members = [
        ("vm", ["vm"], gen_inline_table(rng, [("linux", ["linux"], gen_inline_table(
            rng, [("cpus", ["cpus"], "7")], 2, v11))], 1, v11)),
        ("log", ["log"], gen_inline_table(rng, [("level", ["level"], '"warn"')], 1, v11)),
        ("dind", [spell_dotted(rng, ["dind", "enabled"], v11)], "true"),
    ]
    return gen_inline_table(rng, rng.sample(members, rng.randint(1, 3)), 1, v11)


def add_lookalike_inline(doc):
    """A top-level key holding an inline table with our tables inside it:
    defaults = { vm = { linux = { cpus = 7 } }, log = { level = "warn" } } — in TOML 1.1
    sometimes over several lines."""
    rng = doc.rng
    name = doc.fresh((), ["defaults", "example", "profile"])
    doc.root.append(keyval(rng, spell_key(rng, name, doc.v11), gen_lookalike_tables(rng, doc.v11)))
    doc.note("our tables inside an unrelated inline table")


def add_fake_toml_string(doc):
    """A top-level multi-line string whose text looks like our tables and keys."""
    rng = doc.rng
    name = doc.fresh((), ["notes", "script", "readme", "help"])
    doc.root.append(keyval(rng, spell_key(rng, name), gen_fake_toml_string(rng)))
    doc.note("multi-line string holding our keys")


def add_aot(doc, parts, n):
    """n elements of [[parts]] holding our names (they belong to array elements and must
    not count), sometimes with a sub-table vm.linux of the last element."""
    rng = doc.rng
    group = None
    for i in range(n):
        sec, group = doc.section(spell_header(rng, parts, True, doc.v11), tuple(parts) + (i,),
                                 group)
        table = tuple(parts) + (i,)
        for leaf in rng.sample(["cpus", "memory_mb", "enabled", "level", "format"],
                               rng.randint(1, 3)):
            doc.take(table, leaf)
            val = {"cpus": "3", "memory_mb": "999999999", "enabled": '"x"', "level": '"loud"',
                   "format": "1"}[leaf]
            sec.stmts.append(keyval(rng, spell_key(rng, leaf), val))
        add_unrelated_keys(doc, sec.stmts, table, rng.randint(0, 2))
    if rng.random() < 0.4 and doc.take(tuple(parts) + (n - 1,), "vm"):
        sub, _ = doc.section(spell_header(rng, parts + ["vm", "linux"]),
                             tuple(parts) + (n - 1, "vm", "linux"), group)
        sub.stmts.append(keyval(rng, "cpus", "5"))
        doc.note("[[array]] with a sub-table vm.linux")
    doc.note(f"[[{'.'.join(parts)}]] with our names")


UNRELATED_TABLES = [
    ["server"], ["a", "b", "c"], ["dog", "tater.man"], ["x y", "z"], ["vmx", "linux"],
    ["VM", "linux"], ["server", "vm", "linux"], ["vm.linux"], ["logs"], ["dind-x"], ["ünï"],
    ["e", ""],
]


def add_unrelated_tables(doc):
    """Unrelated [tables] (some named like ours: [vmx.linux], ["vm.linux"], [VM.linux]) and
    [[runners]] elements holding our names."""
    rng = doc.rng
    for parts in rng.sample(UNRELATED_TABLES, rng.randint(0, 3)):
        if not claim_table(doc, parts[0]):
            continue
        if not all(doc.take(tuple(parts[:i]), parts[i]) for i in range(1, len(parts))):
            continue
        sec, _ = doc.section(spell_header(rng, parts, False, doc.v11), tuple(parts))
        r = rng.random()
        if r < 0.4:
            sec.stmts.append(keyval(rng, "cpus", "9"))
            doc.take(tuple(parts), "cpus")
        elif r < 0.6 and doc.take(tuple(parts), "vm"):
            sec.stmts.append(keyval(rng, spell_dotted(rng, ["vm", "linux", "cpus"], doc.v11), "9"))
            doc.note("vm.linux.cpus dotted under an unrelated table")
        add_unrelated_keys(doc, sec.stmts, tuple(parts), rng.randint(0, 3))
        doc.note("unrelated table")
    if rng.random() < 0.5 and claim_table(doc, "runners"):
        add_aot(doc, ["runners"], rng.randint(1, 3))


# ---- bad values and prefixes that are not tables ----------------------------------------


def add_bad_value(doc, plan):
    """badvalue: one of our keys gets a value the agent must refuse."""
    rng = doc.rng
    key = rng.choice(KEYS)
    table, leaf = group_of(key["path"])
    leaves = [x for x in plan.get(table, []) if x[0] != leaf]
    leaves.append((leaf, gen_bad_value(rng, key), None, key["path"]))
    plan[table] = leaves
    doc.note(f"bad value of {key['path']}")


PREFIX_NOT_TABLE = [
    ["vm = 5\n"], ["vm = []\n"], ["vm = [ { linux = { cpus = 2 } } ]\n"], ['vm = "big"\n'],
    ["dind = true\n"], ['dind = "yes"\n'], ["log = [ { level = \"info\" } ]\n"], ["log = 1.5\n"],
    ["vm.linux = 4\n"], ["vm.linux = [ 1, 2 ]\n"], ["vm = { linux = [] }\n"],
    ["log = 2024-01-01\n"],
]

PREFIX_AOT = [["vm"], ["vm", "linux"], ["dind"], ["log"], ["log", "level"], ["vm", "linux", "cpus"]]


def add_prefix_not_table(doc):
    """badvalue: vm, vm.linux, dind or log is not a table (a scalar, an array, an array of
    tables), or one of our keys is a table. Returns the first part it took."""
    rng = doc.rng
    if rng.random() < 0.5:
        stmt = rng.choice(PREFIX_NOT_TABLE)
        first = stmt[0].split("=")[0].strip().split(".")[0]
        doc.take((), first)
        doc.root.append(stmt)
        doc.note("a prefix of ours is not a table")
        return first
    parts = rng.choice(PREFIX_AOT)
    claim_table(doc, parts[0])
    sec, _ = doc.section(spell_header(rng, parts, True), tuple(parts))
    sec.stmts.append(keyval(rng, "cpus", "2"))
    if parts in (["log", "level"], ["vm", "linux", "cpus"]):
        doc.note("one of our keys is a table")
    else:
        doc.note("a prefix of ours is an array of tables")
    return parts[0]


# ---- invalid documents ------------------------------------------------------------------

# One broken statement each (invalid in TOML 1.0 and 1.1): (text, what it shows).
BROKEN = [
    ('x = "abc\n', 'unterminated string'),
    ("x = 'abc\n", 'unterminated literal string'),
    ('x =\n', 'missing value'),
    ('x = 1 2\n', 'two values'),
    ('a b = 1\n', 'space in bare key'),
    ('x = "\\q"\n', 'invalid escape'),
    ('x = 012\n', 'leading zero'),
    ('x = 1__0\n', 'double underscore'),
    ('x = 10_\n', 'trailing underscore'),
    ('x = 1.\n', 'bad float'),
    ('x = .5\n', 'bad float'),
    ('x = 1e\n', 'bad float'),
    ('x = 2024-13-01\n', 'bad date'),
    ('x = 2023-02-29\n', 'bad date'),
    ('x = 25:00:00\n', 'bad time'),
    ('[a\n', 'unclosed header'),
    ('[a.]\n', 'bad header'),
    ('[]\n', 'empty header'),
    ('[[a]\n', 'bad array header'),
    ('x = [1, 2\n', 'unclosed array'),
    ('x = { a = 1 b = 2 }\n', 'missing comma'),
    ('x = { a = 1,, b = 2 }\n', 'double comma'),
    ('x = { , }\n', 'lone comma'),
    ('x = "a\x01b"\n', 'control character in string'),
    ('x = "a\x00b"\n', 'NUL in string'),
    ('x = "\udcff"\n', 'invalid UTF-8'),
    ('x = 1\ry = 2\n', 'bare CR'),
    ('x = 9223372036854775808\n', 'integer overflow'),
    ('x = infinity\n', 'bad float'),
    ('justakey\n', 'key without value'),
    ('= 1\n', 'missing key'),
    ('"""k""" = 1\n', 'multi-line key'),
    ('x = 07:32.5\n', 'fraction without seconds'),
    ('x = 1979-05-27T07\n', 'bad datetime'),
    ('x = +0x10\n', 'signed hex'),
    ('x = 0x\n', 'empty hex'),
    ('x = tru\n', 'bad boolean'),
    ('x = "\\x4"\n', 'short \\x escape'),
    ('x = "\\uD800"\n', 'surrogate escape'),
    ('x = {\n', 'unclosed inline table'),
    ("x = 'a\x7fb'\n", 'DEL in literal string'),
    ('# a\x01comment\n', 'control character in comment'),
    ('x = [1,,2]\n', 'double comma in array'),
    ('x = """a""""""\n', 'too many quotes'),
    ('x = "a" "b"\n', 'two strings'),
]


def mutate_broken_statement(doc):
    """One broken statement between two others (its keys named to avoid duplicates)."""
    rng = doc.rng
    text, what = rng.choice(BROKEN)
    name = f"broken_{rng.randint(0, 99999)}"
    text = re.sub(r"^(x|a|justakey)\b", name, text) if not text.startswith("[") else text
    text = text.replace("[a", f"[{name}")
    target = pick_statement_list(doc)
    target.insert(rng.randint(0, len(target)), text)
    doc.note(f"invalid: {what}")


def mutate_unterminated_ml_string(doc):
    """A multi-line string still open at the end of the document."""
    doc.tail.append(doc.rng.choice(['open = """\nabc\n', "open = '''\nabc\n", 'open = """']))
    doc.note("invalid: multi-line string open at the end")


def mutate_duplicate_key(doc):
    """The same key twice in one table (also with different spellings)."""
    rng = doc.rng
    name = f"dup_{rng.randint(0, 99999)}"
    target = pick_statement_list(doc)
    spell = rng.choice([name, f'"{name}"', f"'{name}'"])
    target.insert(rng.randint(0, len(target)), keyval(rng, name, "1"))
    target.append(keyval(rng, spell, gen_value(rng)))
    doc.note("invalid: duplicate key")


def mutate_duplicate_table(doc):
    """A table defined twice, or as a table and an array of tables."""
    rng = doc.rng
    name = f"t{rng.randint(0, 99999)}"
    second_aot = rng.random() < 0.3
    sec, _ = doc.section(spell_header(rng, [name]), (name,))
    sec.stmts.append(keyval(rng, "a", "1"))
    sec2, _ = doc.section(spell_header(rng, [name], second_aot), (name, "again"))
    sec2.stmts.append(keyval(rng, "b", "2"))
    doc.note("invalid: table defined twice")


def mutate_duplicate_ours(doc):
    """One of our keys written twice in the same table (two spellings)."""
    rng = doc.rng
    key = rng.choice(KEYS)
    table, leaf = group_of(key["path"])
    sec, _ = doc.section(spell_header(rng, list(table)), table + ("#dup",))
    v1, _ = gen_our_value(rng, key, False)
    v2, _ = gen_our_value(rng, key, False)
    sec.stmts.append(keyval(rng, leaf, v1))
    sec.stmts.append(keyval(rng, rng.choice([f'"{leaf}"', f"'{leaf}'", leaf]), v2))
    doc.note("invalid: one of our keys defined twice")


def mutate_redefine(doc):
    """A table defined by dotted keys or an inline table, then extended or redefined."""
    rng = doc.rng
    name = f"r{rng.randint(0, 99999)}"
    case = rng.randrange(4)
    if case == 0:
        doc.root.append(keyval(rng, f"{name}.b.c", "1"))
        sec, _ = doc.section(spell_header(rng, [name, "b"]), (name, "b"))
    elif case == 1:
        doc.root.append(keyval(rng, name, "{ b = 1 }"))
        sec, _ = doc.section(spell_header(rng, [name, "c"]), (name, "c"))
    elif case == 2:
        doc.root.append(keyval(rng, name, "{ b = 1 }"))
        doc.root.append(keyval(rng, f"{name}.c", "2"))
        sec = None
    else:
        doc.root.append(keyval(rng, name, "[ 1 ]"))
        sec, _ = doc.section(spell_header(rng, [name], True), (name,))
    if sec:
        sec.stmts.append(keyval(rng, "z", "0"))
    doc.note("invalid: table redefined")


def mutate_redefine_ours(doc):
    """Our table written at top level with dotted keys, then under its own [header]."""
    rng = doc.rng
    key = rng.choice(KEYS)
    table, leaf = group_of(key["path"])
    v, _ = gen_our_value(rng, key, False)
    doc.root.append(keyval(rng, spell_dotted(rng, list(table) + [leaf]), v))
    sec, _ = doc.section(spell_header(rng, list(table)), table + ("#redef",))
    sec.stmts.append(keyval(rng, "other", "1"))
    doc.note("invalid: our table defined by dotted keys, then by a header")


def pick_statement_list(doc):
    """The top level or a section's statements, to insert into."""
    secs = [s for g in doc.groups for s in g]
    if secs and doc.rng.random() < 0.6:
        return doc.rng.choice(secs).stmts
    return doc.root


MUTATIONS = [
    (mutate_broken_statement, 6), (mutate_unterminated_ml_string, 1), (mutate_duplicate_key, 2),
    (mutate_duplicate_table, 1), (mutate_duplicate_ours, 2), (mutate_redefine, 1),
    (mutate_redefine_ours, 1),
]


# ---- TOML 1.1 ---------------------------------------------------------------------------


def add_toml11_constructs(doc):
    """Makes sure a toml11 document holds at least one 1.1-only piece (besides those the
    value generators put in at random)."""
    rng = doc.rng
    case = rng.randrange(5)
    if case == 0:
        name = doc.fresh((), ["csi", "esc", "color"])
        doc.root.append(keyval(rng, name, gen_string_11(rng)))
        doc.note("1.1: \\e / \\xHH escapes")
    elif case == 1:
        name = doc.fresh((), ["start", "at", "alarm"])
        if rng.random() < 0.3:
            value = ["07:32", Alt(":00", "")]
        else:
            value = [rng.choice(["1979-05-27T07:32", "1979-05-27 07:32"]), Alt(":00", ""),
                     rng.choice(["", "Z", "-07:00"])]
        doc.root.append(keyval(rng, name, value))
        doc.note("1.1: time without seconds")
    elif case == 2:
        name = doc.fresh((), ["tbl", "contact", "point"])
        members = [("a", spell_key(rng, "a"), gen_value(rng, 1, True)),
                   ("b", spell_key(rng, "b"), gen_value(rng, 1, True))]
        one = gen_inline_table(rng, members, 3, False)
        many = gen_ml_inline_11(rng, [m[1:] for m in members])
        doc.root.append(keyval(rng, name, Alt(one, many)))
        doc.note("1.1: multi-line inline table")
    elif case == 3:
        name = doc.fresh((), ["pt", "p"])
        members = [("x", "1"), ("y", gen_value(rng, 1, True))]
        doc.root.append(keyval(rng, name, gen_inline_trailing_comma_11(rng, members)))
        doc.note("1.1: trailing comma in an inline table")
    else:
        doc.note("1.1: in our keys")


def spell_our_table_11(rng, parts):
    """A header naming one of our tables with \\xHH in a quoted part: ["d\\x69nd"]."""
    out = ["["]
    for i, p in enumerate(parts):
        if i:
            out.append(".")
        j = rng.randrange(len(p))
        out += ['"', p[:j], Alt(f"\\u{ord(p[j]):04x}", f"\\x{ord(p[j]):02x}"), p[j + 1:], '"']
    return out + ["]\n"]


# ---- documents --------------------------------------------------------------------------

CLASSES = [("valid", 45), ("badvalue", 20), ("invalid", 20), ("toml11", 15)]


def pick(rng, weighted):
    total = sum(w for _, w in weighted)
    r = rng.uniform(0, total)
    for item, w in weighted:
        r -= w
        if r <= 0:
            return item
    return weighted[-1][0]


def gen_doc(seed, index, cls=None):
    """Document number index of a seed's series (deterministic)."""
    rng = random.Random(f"{seed}:{index}")
    cls = cls or pick(rng, CLASSES)
    doc = Doc(rng, cls)
    doc.eol = pick(rng, [("lf", 6), ("crlf", 2), ("mixed", 1)])
    doc.bom = rng.random() < 0.05
    doc.final_newline = rng.random() < 0.9
    if rng.random() < 0.1:
        doc.root.append("#" + gen_comment_text(rng) + "\n")
    plan = plan_keys(doc)
    skip = ()
    if cls == "badvalue":
        if rng.random() < 0.6:
            add_bad_value(doc, plan)
        else:
            skip = (add_prefix_not_table(doc),)
    for name in ("vm", "dind", "log"):
        doc.take((), name)
    add_root_unrelated(doc)
    if rng.random() < 0.3:
        add_lookalike_root_keys(doc)
    if rng.random() < 0.3:
        add_fake_toml_string(doc)
    if rng.random() < 0.2:
        add_lookalike_inline(doc)
    add_our_keys(doc, plan, skip)
    add_unrelated_tables(doc)
    if cls == "toml11":
        add_toml11_constructs(doc)
    if cls == "invalid":
        pick(rng, MUTATIONS)(doc)
    shuffle_groups(doc)
    if cls in ("badvalue", "invalid"):
        doc.expect_accepted = False
        doc.expect_keys = {}
    if cls == "toml11" and not doc.is_11():
        doc.cls = "valid"
    return doc


def shuffle_groups(doc):
    """Tables in random order (each group — an array and its sub-tables — stays together);
    defining tables out of order is valid TOML."""
    doc.rng.shuffle(doc.groups)


def pick_corpus_seeds(seed, count, limit):
    """A few documents of the series that together use every construct (and class) the
    first count documents use, smallest first: seeds for the fuzz target's corpus."""
    docs = [gen_doc(seed, i) for i in range(count)]
    features = [set(d.constructs) | {"class " + d.cls} for d in docs]
    sizes = [len(d.text(11)[0]) for d in docs]
    uncovered = set().union(*features)
    chosen = []
    while uncovered and len(chosen) < limit:
        best = max(range(count), key=lambda i: (len(features[i] & uncovered), -sizes[i]))
        if not features[best] & uncovered:
            break
        chosen.append(best)
        uncovered -= features[best]
    return [(i, docs[i]) for i in chosen]


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", required=True)
    ap.add_argument("--count", type=int, default=1)
    ap.add_argument("--index", type=int, help="only this document of the series")
    ap.add_argument("--out", help="directory for the documents (default: print one)")
    ap.add_argument("--prefix", default="doc-")
    ap.add_argument("--mode", type=int, choices=[10, 11], default=11)
    ap.add_argument("--cover", type=int, metavar="LIMIT",
                    help="write only the (at most LIMIT) documents that together use every "
                         "construct the series uses (fuzz seeds)")
    a = ap.parse_args(argv)
    if a.cover:
        pairs = pick_corpus_seeds(a.seed, a.count, a.cover)
    else:
        indices = [a.index] if a.index is not None else range(a.count)
        pairs = [(i, gen_doc(a.seed, i)) for i in indices]
    for i, doc in pairs:
        data, _ = doc.text(a.mode)
        if not a.out:
            sys.stdout.write(f"# doc {i}: {doc.cls}; {', '.join(doc.constructs)}\n")
            sys.stdout.flush()
            sys.stdout.buffer.write(data)
            sys.stdout.write("\n")
            continue
        os.makedirs(a.out, exist_ok=True)
        name = f"{a.prefix}{doc.cls}-{i:05d}.toml" if a.cover else f"{a.prefix}{i:05d}.toml"
        with open(os.path.join(a.out, name), "wb") as f:
            f.write(data)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
