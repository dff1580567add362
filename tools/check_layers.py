#!/usr/bin/env python3
"""check_layers.py — enforces the shape of the core (docs/ARCHITECTURE.md, "Layers").

1. The node's parts (core/node_internal.h lists them bottom-up, one "==== node_X.c" section
   each): a part's file calls only functions of its own part or the parts below it, reads only
   their fields (n->PART.), and writes only its own. node.c is the top and may read every part.
2. Drivers (sim/, net-real/) include only the core's public headers (core/include/);
   the internals (core/*.h) are the core's own.

Prints one `file:line: message` per violation and exits 1 if there is any; 0 otherwise.
Standard library only.
"""
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# The parts bottom-up: file stem, and the tc_node members the part owns.
PARTS = [
    ("node_outbox", {"out", "fail"}),
    ("node_evidence", {"ev"}),
    ("node_clock", {"clk"}),
    ("node_txs", {"txs"}),
    ("node_commit", {"commit"}),
    ("node_consensus", {"cons"}),
    ("node_sync", {"sync"}),
]
TOP = "node"  # node.c: may call and read every part, writes none of their fields

WRITE_RE = re.compile(r"n->(\w+)\.[\w\[\]\.>-]*\s*(=(?!=)|\+=|-=|\+\+|--)")
READ_RE = re.compile(r"n->(\w+)\.")
CALL_RE = re.compile(r"\b(node_\w+)\s*\(")


def strip_comments(text):
    """Blanks comments and string literals, keeping line numbers."""
    def blank(m):
        return re.sub(r"[^\n]", " ", m.group(0))
    text = re.sub(r"/\*.*?\*/", blank, text, flags=re.S)
    text = re.sub(r"//[^\n]*", blank, text)
    return re.sub(r'"(\\.|[^"\\\n])*"', blank, text)


def part_functions(header):
    """Maps each function declared in node_internal.h to the index of its part's section."""
    owner = {}
    section = None
    names = [p[0] for p in PARTS]
    for line in header.splitlines():
        m = re.match(r"/\* ==== (\w+)\.c", line)
        if m:
            section = names.index(m.group(1)) if m.group(1) in names else None
            continue
        m = re.match(r"^[\w\s\*]*?\b(node_\w+)\s*\(", line)
        if m and section is not None and not line.startswith(" "):
            owner[m.group(1)] = section
    return owner


def check_parts(errors):
    core = os.path.join(ROOT, "core")
    with open(os.path.join(core, "node_internal.h"), encoding="utf-8") as f:
        owner = part_functions(f.read())
    members = {m: i for i, (_, ms) in enumerate(PARTS) for m in ms}
    files = [(i, stem) for i, (stem, _) in enumerate(PARTS)] + [(len(PARTS), TOP)]
    for level, stem in files:
        path = os.path.join(core, stem + ".c")
        if not os.path.exists(path):
            errors.append(f"core/{stem}.c:1: missing: node_internal.h lists this part")
            continue
        with open(path, encoding="utf-8") as f:
            text = strip_comments(f.read())
        own = PARTS[level][1] if level < len(PARTS) else set()
        for no, line in enumerate(text.splitlines(), 1):
            where = f"core/{stem}.c:{no}"
            for m in CALL_RE.finditer(line):
                callee = owner.get(m.group(1))
                if callee is not None and callee > level:
                    errors.append(f"{where}: calls {m.group(1)}, of {PARTS[callee][0]}.c, "
                                  f"which sits above {stem}.c")
            for m in READ_RE.finditer(line):
                part = members.get(m.group(1))
                if part is not None and part > level:
                    errors.append(f"{where}: reads n->{m.group(1)}, owned by "
                                  f"{PARTS[part][0]}.c, which sits above {stem}.c")
            for m in WRITE_RE.finditer(line):
                if m.group(1) in members and m.group(1) not in own:
                    errors.append(f"{where}: writes n->{m.group(1)}, owned by "
                                  f"{PARTS[members[m.group(1)]][0]}.c")


def public_headers():
    inc = os.path.join(ROOT, "core", "include")
    if not os.path.isdir(inc):
        return None
    return {name for name in os.listdir(inc) if name.endswith(".h")}


def check_drivers(errors):
    public = public_headers()
    if public is None:
        return
    internal = {name for name in os.listdir(os.path.join(ROOT, "core")) if name.endswith(".h")}
    for folder in ("sim", "net-real"):
        base = os.path.join(ROOT, folder)
        if not os.path.isdir(base):
            continue
        for dirpath, _, names in os.walk(base):
            for name in sorted(names):
                if not name.endswith((".c", ".h", ".cpp")):
                    continue
                path = os.path.join(dirpath, name)
                rel = os.path.relpath(path, ROOT)
                with open(path, encoding="utf-8") as f:
                    for no, line in enumerate(f, 1):
                        m = re.match(r'\s*#\s*include\s+"([^"]+)"', line)
                        if m and os.path.basename(m.group(1)) in internal and \
                                os.path.basename(m.group(1)) not in public:
                            errors.append(f"{rel}:{no}: includes the core's internal header "
                                          f"{m.group(1)}; drivers use core/include/ only")


def main():
    errors = []
    check_parts(errors)
    check_drivers(errors)
    for e in errors:
        print(e)
    if errors:
        print(f"check_layers: {len(errors)} violation(s)", file=sys.stderr)
        return 1
    print("check_layers: the node's parts call and read downward only; drivers use public headers")
    return 0


if __name__ == "__main__":
    sys.exit(main())
