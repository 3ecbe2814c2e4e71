#!/usr/bin/env python3
"""man-check.py — the man pages cannot drift from the binaries: every command, flag and exit
code the --help outputs print must be in the pages.

    scripts/release/man-check.py VMHOST INIT MANPAGE...

VMHOST's top-level --help lists the commands ("Commands:" block, one or two words per
line); each command's `VMHOST CMD --help` is run and every flag in it (--long, -s) must
appear in ephemerd-vmhost.8, each command as a subsection (.SS), and each exit code of the
"Exit codes:" lines as a tagged paragraph. INIT's --help and the --help of its poweroff name
(a symlink in a temporary directory) must have each of their flags in ephemerd-init.8.
Prints what is missing, one line each; exit 0 when nothing is, 1 otherwise.
"""
import os
import re
import subprocess
import sys
import tempfile

LONG = re.compile(r"(?<![\w-])(--[a-z][a-z0-9-]*)")
SHORT = re.compile(r"(?<![\w-])(-[a-zA-Z])(?![\w-])")


def run_help(argv):
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30)
    out = p.stdout.decode("utf-8", "replace")
    if p.returncode != 0:
        raise RuntimeError("%s exited %d:\n%s" % (" ".join(argv), p.returncode, out))
    return out


def flags(text):
    return set(LONG.findall(text)) | set(SHORT.findall(text))


def plain(roff):
    """The page's text as a reader sees it (enough for searching)."""
    t = re.sub(r"\\f[BIRP]", "", roff)
    return t.replace("\\-", "-").replace("\\&", "").replace("\\e", "\\")


def words(text):
    return set(LONG.findall(text)) | set(SHORT.findall(text))


def commands(top_help):
    """The one- or two-word commands of the "Commands:" block."""
    cmds, inblock = [], False
    for line in top_help.splitlines():
        if line.startswith("Commands:"):
            inblock = True
            continue
        if inblock:
            m = re.match(r"^  ([a-z][a-z-]*(?: [a-z][a-z-]*)?)(?:\s{2,}|$)", line)
            if not m:
                if line.strip():
                    inblock = False
                continue
            cmds.append(m.group(1))
    return cmds


def exit_codes(top_help):
    m = re.search(r"Exit codes:(.*?)(?:\n\n|\Z)", top_help, re.S)
    return set(re.findall(r"(?<![\w-])(\d+) ", m.group(1))) if m else set()


def check_vmhost(vmhost, page, missing):
    roff = open(page, encoding="utf-8").read()
    text = plain(roff)
    have = words(text)
    subsections = {plain(l[4:]).strip() for l in roff.splitlines() if l.startswith(".SS ")}
    top = run_help([vmhost, "--help"])
    for f in sorted(flags(top) - have):
        missing.append("%s: %s (from ephemerd-vmhost --help)" % (page, f))
    cmds = commands(top)
    if not cmds:
        missing.append("%s: no commands found in ephemerd-vmhost --help" % vmhost)
    for cmd in cmds:
        if cmd not in subsections:
            missing.append("%s: no subsection for the command '%s'" % (page, cmd))
        out = run_help([vmhost] + cmd.split() + ["--help"])
        for f in sorted(flags(out) - have):
            missing.append("%s: %s (from ephemerd-vmhost %s --help)" % (page, f, cmd))
    terms = {plain(l).strip() for l in roff.splitlines()}
    for code in sorted(exit_codes(top)):
        if code not in terms:
            missing.append("%s: exit code %s (from ephemerd-vmhost --help)" % (page, code))
    return len(cmds)


def check_init(init, page, missing):
    have = words(plain(open(page, encoding="utf-8").read()))
    outs = [("ephemerd-init --help", run_help([init, "--help"]))]
    with tempfile.TemporaryDirectory() as d:
        link = os.path.join(d, "poweroff")
        os.symlink(os.path.abspath(init), link)
        outs.append(("poweroff --help", run_help([link, "--help"])))
    for name, out in outs:
        for f in sorted(flags(out) - have):
            missing.append("%s: %s (from %s)" % (page, f, name))


def main():
    if len(sys.argv) < 4:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    vmhost, init, pages = sys.argv[1], sys.argv[2], sys.argv[3:]
    byname = {os.path.basename(p): p for p in pages}
    missing = []
    for want in ("ephemerd-vmhost.8", "ephemerd-init.8"):
        if want not in byname:
            missing.append("no %s among %s" % (want, " ".join(pages)))
    if missing:
        print("\n".join(missing), file=sys.stderr)
        return 1
    try:
        ncmd = check_vmhost(vmhost, byname["ephemerd-vmhost.8"], missing)
        check_init(init, byname["ephemerd-init.8"], missing)
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as e:
        print("man-check: %s" % e, file=sys.stderr)
        return 1
    for m in missing:
        print("man-check: missing in " + m, file=sys.stderr)
    if missing:
        print("man-check: %d missing; add them to docs/man/*.md" % len(missing), file=sys.stderr)
        return 1
    print("man-check: every command (%d), flag and exit code of --help is in the man pages" % ncmd)
    return 0


if __name__ == "__main__":
    sys.exit(main())
