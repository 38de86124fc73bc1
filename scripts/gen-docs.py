#!/usr/bin/env python3
"""gen-docs.py - write the documentation's generated regions from their one source.

The SOCKLEAK_OPTIONS table in src/base/options.c holds each option's name, default and
meaning. This script compiles scripts/options-json.c against that options.c (so the
table is read by C, as the shim reads it) and rewrites, between marker comments:

  README.md               the options table      <!-- BEGIN GENERATED: options ... -->
                                                  <!-- END GENERATED: options -->
  scripts/sockleak        --help's key table     # BEGIN GENERATED: options ...
                                                  # END GENERATED: options
  man/sockleak-options.7  the OPTIONS entries    .\\" BEGIN GENERATED: options ...
                                                  .\\" END GENERATED: options

and the version in the .TH line of each man page, from the top-level VERSION file.
In the meanings, `...` marks literal text: kept in the README, bold in the man page,
plain in --help.

  scripts/gen-docs.py           rewrite the files (make docs)
  scripts/gen-docs.py --check   write nothing; show what differs, exit 1 if anything
                                does (tests/check_docs.py runs the same check)
"""
import difflib
import glob
import json
import os
import re
import subprocess
import sys
import tempfile
import textwrap

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HELP_WIDTH = 88  # --help fits an 88-column terminal
README = "README.md"
LAUNCHER = os.path.join("scripts", "sockleak")
MAN_OPTIONS = os.path.join("man", "sockleak-options.7")
MANS = sorted(os.path.relpath(p, ROOT) for p in glob.glob(os.path.join(ROOT, "man", "*.[1-9]")))
SOURCE = "scripts/gen-docs.py from the table in src/base/options.c; make docs"
MARKERS = {  # file: (begin, end) marker lines
    README: ("<!-- BEGIN GENERATED: options (%s) -->" % SOURCE, "<!-- END GENERATED: options -->"),
    LAUNCHER: ("# BEGIN GENERATED: options (%s)" % SOURCE, "# END GENERATED: options"),
    MAN_OPTIONS: ('.\\" BEGIN GENERATED: options (%s)' % SOURCE, '.\\" END GENERATED: options'),
}


def _helper(tmp):
    """Build scripts/options-json.c with the shim's options.c; return its path."""
    found = glob.glob(os.path.join(ROOT, "src", "**", "options.c"), recursive=True)
    if len(found) != 1:
        raise SystemExit("gen-docs: expected one options.c under src/, found %d" % len(found))
    exe = os.path.join(tmp, "options-json")
    cc = os.environ.get("CC", "cc")
    argv = [cc, "-std=gnu11", "-O0", "-w", "-Iinclude", "-Isrc"] + \
        [os.path.join("scripts", "options-json.c"), found[0], "-o", exe]
    p = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit("gen-docs: cannot build the table reader:\n%s" % p.stderr)
    return exe


def table():
    """The option table, in order: [{name, default, doc, meta, values}]."""
    with tempfile.TemporaryDirectory(prefix="sockleak-docs-") as tmp:
        out = subprocess.run([_helper(tmp)], capture_output=True, text=True, check=True).stdout
    return json.loads(out)


def parse_back(args):
    """Parse each KEY=VALUE as the shim would: {arg: (problems, leaves_defaults)}."""
    with tempfile.TemporaryDirectory(prefix="sockleak-docs-") as tmp:
        out = subprocess.run([_helper(tmp)] + list(args), capture_output=True, text=True, check=True).stdout
    res = {}
    for line in out.splitlines():
        x = json.loads(line)
        res[x["arg"]] = (x["problems"], x["is_default"])
    return res


def version():
    with open(os.path.join(ROOT, "VERSION"), encoding="utf-8") as f:
        return f.read().strip()


# ---- the three media ----

def plain(doc):
    """The meaning as plain text: `code` marks dropped."""
    return doc.replace("`", "")


def render_readme(rows):
    out = ["| key | default | meaning |", "| --- | --- | --- |"]
    for o in rows:
        out.append("| `%s` | `%s` | %s |" % (o["name"], o["default"], o["doc"].replace("|", "\\|")))
    return out


def render_help(rows):
    """A shell function printing the key table, wrapped to HELP_WIDTH columns."""
    kw = max(len(o["name"]) for o in rows) + 2
    dw = max(len(o["default"]) for o in rows) + 3
    indent = " " * (2 + kw + dw)
    body = ["  %-*s%-*s%s" % (kw, "key", dw, "default", "meaning")]
    for o in rows:
        lines = textwrap.wrap(plain(o["doc"]), HELP_WIDTH - len(indent), break_long_words=False,
                              break_on_hyphens=False)
        body.append("  %-*s%-*s%s" % (kw, o["name"], dw, o["default"], lines[0]))
        body += [indent + x for x in lines[1:]]
    for line in body:
        if line.strip() == "EOF":
            raise SystemExit("gen-docs: a --help line would end the here-document")
    return ["usage_keys() { # the SOCKLEAK_OPTIONS keys, for usage()", "    cat <<'EOF'"] + body + ["EOF", "}"]


def roff_escape(text):
    return text.replace("\\", "\\e").replace("-", "\\-")


def roff_text(doc):
    """The meaning as roff text: `code` in bold, wrapped, no line starting with . or '."""
    parts = doc.split("`")
    if len(parts) % 2 == 0:
        raise SystemExit("gen-docs: unbalanced ` in %r" % doc)
    s = "".join(roff_escape(p) if i % 2 == 0 else "\\fB%s\\fR" % roff_escape(p) for i, p in enumerate(parts))
    lines = textwrap.wrap(s, 88, break_long_words=False, break_on_hyphens=False)
    return ["\\&" + x if x[:1] in (".", "'") else x for x in lines]


def sentence(doc):
    """Capitalized, ending with a full stop (the man page's prose)."""
    if doc[:1].isalpha():
        doc = doc[0].upper() + doc[1:]
    return doc if doc.endswith(".") else doc + "."


def render_man(rows):
    out = []
    for o in rows:
        out += [".TP", ".BI %s= %s" % (o["name"], o["meta"])]
        out += roff_text(sentence(o["doc"]))
        out += roff_text("Value: %s; default `%s`." % (o["values"], o["default"]))
    return out


RENDER = {README: render_readme, LAUNCHER: render_help, MAN_OPTIONS: render_man}


# ---- rewriting the regions ----

def region(text, path):
    """(before, region lines, after) of a file's generated region."""
    begin, end = MARKERS[path]
    lines = text.split("\n")
    try:
        b, e = lines.index(begin), lines.index(end)
    except ValueError:
        raise SystemExit("gen-docs: %s lacks the marker lines %r and %r" % (path, begin, end))
    if e < b:
        raise SystemExit("gen-docs: %s: the end marker comes before the begin marker" % path)
    return lines[:b + 1], lines[b + 1:e], lines[e:]


def with_version(text, v):
    """A man page with VERSION in its .TH line ("sockleak X")."""
    return re.sub(r'^(\.TH .*)"sockleak [^"]*"', lambda m: '%s"sockleak %s"' % (m.group(1), v), text, flags=re.M)


def generated(rows=None):
    """{path: the file's text as the generator writes it} for every file it touches."""
    rows = rows if rows is not None else table()
    v = version()
    out = {}
    for path in sorted(set(RENDER) | set(MANS)):
        with open(os.path.join(ROOT, path), encoding="utf-8") as f:
            text = f.read()
        if path in RENDER:
            before, _, after = region(text, path)
            text = "\n".join(before + RENDER[path](rows) + after)
        if path in MANS:
            text = with_version(text, v)
        out[path] = text
    return out


def main():
    check = sys.argv[1:] == ["--check"]
    if sys.argv[1:] and not check:
        print(__doc__.strip())
        return 2
    differ = 0
    for path, text in generated().items():
        with open(os.path.join(ROOT, path), encoding="utf-8") as f:
            now = f.read()
        if now == text:
            continue
        differ += 1
        if check:
            sys.stdout.writelines(difflib.unified_diff(now.splitlines(True), text.splitlines(True),
                                                       "a/" + path + " (committed)", "b/" + path + " (generated)"))
        else:
            with open(os.path.join(ROOT, path), "w", encoding="utf-8") as f:
                f.write(text)
            print("gen-docs: rewrote %s" % path)
    if check and differ:
        print("gen-docs: %d file(s) differ from what the option table and VERSION give: run make docs" % differ)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
