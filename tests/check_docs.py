#!/usr/bin/env python3
"""check_docs.py - every SOCKLEAK_OPTIONS key and every launcher option is documented.

Keys come from the option table in src/base/options.c, launcher options from the argument
parser in scripts/sockleak; each must appear in README.md and in `sockleak --help`, and
in the man pages: keys in man/sockleak-options.7, launcher flags in man/sockleak.1.
Prints what is missing and exits 1, or prints a one-line summary.
"""
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
    src = open(os.path.join(ROOT, "src", "base", "options.c"), encoding="utf-8").read()
    keys = re.findall(r'^\s*\{ "([a-z_]+)", K_[A-Z]+,', src, re.M)
    launcher = open(os.path.join(ROOT, "scripts", "sockleak"), encoding="utf-8").read()
    flags = set()
    for line in launcher.splitlines():
        m = re.match(r"^\s*(-[-a-z0-9|= *]+)\)", line)  # a case pattern: --json | --text)
        if m:
            flags.update(re.findall(r"--[a-z][a-z-]+", m.group(1)))
    flags = sorted(flags)
    readme = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
    helptext = subprocess.run([os.path.join(ROOT, "scripts", "sockleak"), "--help"], capture_output=True,
                              text=True, check=True).stdout
    def roff(name):  # the page's text with roff's escaped hyphens made plain
        with open(os.path.join(ROOT, "man", name), encoding="utf-8") as f:
            return f.read().replace("\\-", "-").replace("\\c", "")
    man_keys, man_flags = roff("sockleak-options.7"), roff("sockleak.1")
    missing = []
    if len(keys) < 5 or len(flags) < 5:
        missing.append("could not read the option table (%d keys) or launcher flags (%d)" % (len(keys), len(flags)))
    for k in keys:
        if not re.search(r"\b%s\b" % k, readme):
            missing.append("README.md does not document the option %s" % k)
        if not re.search(r"\b%s\b" % k, helptext):
            missing.append("sockleak --help does not document the option %s" % k)
        if not re.search(r"\b%s=" % k, man_keys):
            missing.append("man/sockleak-options.7 does not document the option %s" % k)
    for f in flags:
        if f not in readme:
            missing.append("README.md does not document the launcher flag %s" % f)
        if f not in helptext:
            missing.append("sockleak --help does not document the launcher flag %s" % f)
        if not re.search(r"(^|[^-a-z])%s([^-a-z]|$)" % re.escape(f), man_flags, re.M):
            missing.append("man/sockleak.1 does not document the launcher flag %s" % f)
    for m in missing:
        print(m)
    if missing:
        return 1
    print("docs: %d options and %d launcher flags documented in README.md, --help and the man pages" % (len(keys), len(flags)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
