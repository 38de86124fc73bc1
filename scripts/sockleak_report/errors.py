"""How the tool speaks to its user: one line on stderr, and the exceptions that end a command.

A Failure is an error in the input or the environment (an unreadable file, no report,
a missing addr2line): one line on stderr, exit status 2. A Usage error is a bad
command line: the same, with a pointer to --help.
"""
import sys

PROG = "sockleak report"


class Failure(Exception):
    """An error for the user: one line on stderr, exit status 2; prog names who speaks
    (the launcher's steps speak as "sockleak")."""

    def __init__(self, msg, prog=PROG):
        super().__init__(msg)
        self.prog = prog


class Usage(Exception):
    """A command-line error: its text is the whole line, exit status 2."""


def warn(msg, prog=PROG):
    """One line on stderr, "PROG: MSG"."""
    sys.stderr.write("%s: %s\n" % (prog, msg))
