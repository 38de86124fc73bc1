#!/usr/bin/env python3
"""check_docs.py - the documentation says what the code does.

SOCKLEAK_OPTIONS keys: the table in src/base/options.c is the one source of each key's name,
default and meaning; scripts/gen-docs.py writes them into README.md, `sockleak --help`
and man/sockleak-options.7. Checked here, each in full:
  - the committed files are what the generator writes now (and the man pages carry
    the VERSION file's version);
  - read back from each document as a reader sees it (the README's table, the output
    of `sockleak --help`, the man page's entries), every key is there, in the table's
    order, with the table's default and meaning;
  - each default as a document shows it, given to the shim's own parser, leaves the
    settings exactly as the defaults are.
Launcher flags: every flag of the launcher's argument parser (scripts/sockleak) is in
README.md, in `sockleak --help` and in man/sockleak.1.
Prints what is wrong and exits 1, or prints a one-line summary.
"""
import importlib.util
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_spec = importlib.util.spec_from_file_location("gen_docs", os.path.join(ROOT, "scripts", "gen-docs.py"))
gen = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(gen)


def read(path):
    with open(os.path.join(ROOT, path), encoding="utf-8") as f:
        return f.read()


def norm(s):
    return " ".join(s.split())


# ---- each document read back: [(name, default, meaning)] ----

def from_readme(text):
    _, region, _ = gen.region(text, gen.README)
    rows = []
    for line in region[2:]:
        m = re.match(r"^\| `([^`]*)` \| `([^`]*)` \| (.*) \|$", line)
        if not m:
            raise ValueError("README.md: not an option row: %r" % line)
        rows.append((m.group(1), m.group(2), m.group(3).replace("\\|", "|")))
    return rows


def from_help(out):
    lines = out.split("\n")
    head = [i for i, x in enumerate(lines) if re.match(r"^  key +default +meaning$", x)]
    if len(head) != 1:
        raise ValueError("sockleak --help: no key table heading ('  key  default  meaning')")
    rows = []
    for line in lines[head[0] + 1:]:
        if not line.strip():
            break
        m = re.match(r"^  (\S+) +(\S+) +(.*)$", line)
        if m:
            rows.append([m.group(1), m.group(2), m.group(3)])
        elif rows and line.startswith(" " * 20):
            rows[-1][2] += " " + line.strip()
        else:
            raise ValueError("sockleak --help: not part of the key table: %r" % line)
    return [tuple(r) for r in rows]


def unroff(s):
    s = s.replace("\\fB", "`").replace("\\fR", "`").replace("\\&", "").replace("\\-", "-")
    return s.replace("\\e", "\\")


def from_man(text):
    _, region, _ = gen.region(text, gen.MAN_OPTIONS)
    rows, cur = [], None
    for line in region:
        if line == ".TP":
            cur = None
            continue
        m = re.match(r"^\.BI (\S+)= (\S+)$", line)
        if m:
            cur = [m.group(1), ""]
            rows.append(cur)
        elif cur is not None and not line.startswith("."):
            cur[1] += " " + unroff(line)
        else:
            raise ValueError("man/sockleak-options.7: unexpected line in the options: %r" % line)
    out = []
    for name, body in rows:
        m = re.match(r"^(.*) Value: .*; default `([^`]*)`\.$", norm(body))
        if not m:
            raise ValueError("man/sockleak-options.7: %s: no 'Value: ...; default X.' sentence" % name)
        out.append((name, m.group(2), m.group(1)))
    return out


def check_options(problems, helptext):
    rows = gen.table()
    want = [(o["name"], o["default"]) for o in rows]
    docs = {}
    for what, fn, arg, meaning in (
            ("README.md", from_readme, read(gen.README), lambda d: d),
            ("sockleak --help", from_help, helptext, gen.plain),
            ("man/sockleak-options.7", from_man, read(gen.MAN_OPTIONS), lambda d: gen.sentence(d))):
        try:
            got = fn(arg)
        except ValueError as e:
            problems.append(str(e))
            continue
        docs[what] = got
        if [n for n, _, _ in got] != [n for n, _ in want]:
            problems.append("%s: keys %s; the option table's, in order: %s" % (
                what, " ".join(n for n, _, _ in got), " ".join(n for n, _ in want)))
            continue
        for (name, shown, _), (_, default) in zip(got, want):
            if shown != default:
                problems.append("%s: %s's default is %s, the option table's %s" % (what, name, shown, default))
        for (name, _, text), o in zip(got, rows):
            if norm(text) != norm(meaning(o["doc"])):
                problems.append("%s: %s means %r, the option table says %r" % (what, name, norm(text),
                                                                               norm(meaning(o["doc"]))))
    # the default each document shows is the parser's default
    shown = sorted({"%s=%s" % (n, d) for got in docs.values() for n, d, _ in got})
    for arg, (nproblems, is_default) in sorted(gen.parse_back(shown).items()):
        if nproblems or not is_default:
            problems.append("the documents show the default %s, but the parser %s" % (
                arg, "rejects it" if nproblems else "gives other settings for it than its defaults"))
    # the committed files are what the generator writes
    for path, text in sorted(gen.generated(rows).items()):
        if read(path) != text:
            problems.append("%s differs from what scripts/gen-docs.py writes (run make docs; "
                            "scripts/gen-docs.py --check shows the difference)" % path)
    return rows


def check_flags(problems, helptext):
    launcher = read(os.path.join("scripts", "sockleak"))
    flags = set()
    for line in launcher.splitlines():
        m = re.match(r"^\s*(-[-a-z0-9|= *]+)\)", line)  # a case pattern: --json | --text)
        if m:
            flags.update(re.findall(r"--[a-z][a-z-]+", m.group(1)))
    flags = sorted(flags)
    if len(flags) < 5:
        problems.append("could not read the launcher's flags (%d)" % len(flags))
    readme = read("README.md")
    man = read(os.path.join("man", "sockleak.1")).replace("\\-", "-").replace("\\c", "")
    for f in flags:
        if f not in readme:
            problems.append("README.md does not document the launcher flag %s" % f)
        if f not in helptext:
            problems.append("sockleak --help does not document the launcher flag %s" % f)
        if not re.search(r"(^|[^-a-z])%s([^-a-z]|$)" % re.escape(f), man, re.M):
            problems.append("man/sockleak.1 does not document the launcher flag %s" % f)
    return flags


def main():
    problems = []
    helptext = subprocess.run([os.path.join(ROOT, "scripts", "sockleak"), "--help"], capture_output=True, text=True,
                              check=True).stdout
    rows = check_options(problems, helptext)
    flags = check_flags(problems, helptext)
    for p in problems:
        print("docs: " + p)
    if problems:
        return 1
    print("docs: %d options (name, default, meaning) as in src/base/options.c in README.md, --help and "
          "sockleak-options(7); %d launcher flags documented" % (len(rows), len(flags)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
