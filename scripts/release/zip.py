#!/usr/bin/env python3
"""zip.py OUT ROOT TOP — write OUT, a zip of the tree ROOT/TOP, reproducibly: members sorted
by name (directories first in their own order, as names sort), every time
SOURCE_DATE_EPOCH (UTC; at least 1980-01-01, zip's earliest), Unix mode bits from the files
(no uid/gid or extended timestamps), deflate level 9. OUT is replaced atomically."""
import os
import sys
import time
import zipfile


def members(root, top):
    out = []
    for d, dirs, files in os.walk(os.path.join(root, top)):
        rel = os.path.relpath(d, root).replace(os.sep, "/")
        out.append((rel + "/", d))
        out += [(rel + "/" + f, os.path.join(d, f)) for f in files]
    return sorted(out)


def main():
    if len(sys.argv) != 4:
        print(__doc__.splitlines()[0], file=sys.stderr)
        return 2
    out, root, top = sys.argv[1:]
    epoch = max(int(os.environ.get("SOURCE_DATE_EPOCH", "0")), 315532800)
    stamp = time.gmtime(epoch)[:6]
    tmp = out + ".tmp"
    with zipfile.ZipFile(tmp, "w") as z:
        for name, path in members(root, top):
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.create_system = 3
            mode = os.stat(path).st_mode & 0o7777
            if name.endswith("/"):
                info.external_attr = ((0o40000 | mode) << 16) | 0x10
                z.writestr(info, b"")
                continue
            info.external_attr = (0o100000 | mode) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            with open(path, "rb") as f:
                z.writestr(info, f.read(), compresslevel=9)
    os.replace(tmp, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
