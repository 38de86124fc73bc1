"""sockleak-report - sockleak's JSON reports for people, for tickets and for CI gates.

  sockleak report render    [--format text|markdown] [--top N] [-o OUT] FILE...
  sockleak report symbolize [--debug-dir DIR]... [--binary-dir DIR]... [-o OUT] FILE...
  sockleak report diff      [--json] [--top N] A [B]
  sockleak report merge     [--format text|markdown|json] [--json] [--top N] FILE...
  sockleak report check     [--max-leaked N] [--max-live N] FILE...

Input is the shim's JSON Lines (format=json): files, or "-" for stdin. A file may hold
several reports, one per line, of one process or of several (they are appended). By
default each command takes the last report of each process (pid) in each file (check:
its worst); --all takes every report. A scoped report (sockleak_report_since, with
"checkpoint") is only a part of a process's sockets: it is taken with --all, or when
the process wrote no other. A FILE holding %p, like log_path, stands for the files of
every process. --since TIME keeps the reports written at or after TIME (RFC 3339). A
line that is not a sockleak report is named on stderr as FILE:LINE and skipped.

Only the contract's keys are relied on; everything else (file/line in frames, language
frames, where end-of-file was read, "environment", "growth", "closed_late", "unseen",
summary.suppressed, idle_ms, leak kinds other than close_wait...) is used when present
and skipped when absent, and unknown keys are carried along, never a reason to fail. Reports are summarized by
stack (fingerprint), never listed socket by socket, so 100,000 sockets stay readable.

Standard library only. Exit status: 0 success, 1 a check failed, 2 usage or input error.
"""
import argparse
import re
import signal
import sys

from .check import check_command
from .compare import diff_command, merge_command
from .dump import dump_command
from .errors import PROG, Failure, Usage, warn
from .gate import finish as gate_finish
from .gate import start as gate_start
from .reading import load
from .render import render_reports
from .symbolize import symbolize_command
from .values import parse_time


class Parser(argparse.ArgumentParser):
    def error(self, message):
        raise Usage("%s: %s (see '%s --help')" % (self.prog, message, self.prog))


def count(s):
    if not re.match(r"^[0-9]+$", s):
        raise argparse.ArgumentTypeError("'%s' is not a count (0, 1, 2...)" % s)
    return int(s)


def pid_arg(s):
    if not re.match(r"^[0-9]+$", s):
        raise argparse.ArgumentTypeError("'%s' is not a process id" % s)
    return int(s)


def time_arg(s):
    t = parse_time(s)
    if t is None:
        raise argparse.ArgumentTypeError("'%s' is not an RFC 3339 time (2026-01-31T12:00:00.000Z)" % s)
    return t


def make_parser():
    common = Parser(add_help=False)
    common.add_argument("--all", action="store_true", help="every report, not only the last of each process")
    common.add_argument("--since", type=time_arg, metavar="TIME",
                        help="only reports written at or after TIME (RFC 3339)")
    common.add_argument("--pid", type=pid_arg, action="append", metavar="PID", help="only this process (repeatable)")
    p = Parser(prog=PROG, description=__doc__.split("\n\n")[0].split("\n", 1)[0],
               formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split("\n\n", 1)[1])
    sub = p.add_subparsers(dest="cmd", metavar="COMMAND", parser_class=Parser)

    r = sub.add_parser("render", parents=[common], help="a report as text (like the shim's) or Markdown for a ticket",
                       description="Render reports: a headline naming the worst leak, then the stacks, most "
                                   "leaked first. Markdown adds tables and an Environment section, ready to paste.")
    r.add_argument("--format", choices=("text", "markdown"), default="text")
    r.add_argument("--top", type=count, default=10, metavar="N", help="stacks shown (default 10; 0: all)")
    r.add_argument("-o", "--output", metavar="OUT", help="write to OUT (%%p: each process to its own file)")
    r.add_argument("--append", action="store_true", help="with -o: append instead of replacing")
    r.add_argument("files", nargs="+", metavar="FILE")

    s = sub.add_parser("symbolize", help="fill in function, file and line of frames from debug info",
                       description="Add function/file/line to the frames that lack them, from the debug info of "
                                   "each frame's module (matched by build-id), with eu-addr2line or addr2line. "
                                   "Writes the same JSON Lines; stack ids do not change. Lines that are not "
                                   "reports are copied unchanged.")
    s.add_argument("--debug-dir", action="append", default=[], metavar="DIR",
                   help="separate debug files: DIR/.build-id/xx/rest.debug, DIR/NAME.debug, DIR/NAME "
                        "(repeatable; /usr/lib/debug is searched last)")
    s.add_argument("--binary-dir", action="append", default=[], metavar="DIR",
                   help="unstripped copies of the modules: DIR/NAME (repeatable)")
    s.add_argument("--addr2line", metavar="PROG", help="eu-addr2line or addr2line (default: eu-addr2line if "
                                                       "installed, else addr2line)")
    s.add_argument("-o", "--output", metavar="OUT", help="write to OUT instead of stdout (may be an input)")
    s.add_argument("files", nargs="+", metavar="FILE")

    d = sub.add_parser("diff", parents=[common], help="stacks ranked by growth between two reports",
                       description="Compare two reports stack by stack (same process, or two runs of one "
                                   "program): live sockets in A and in B, the change, the change in leaked "
                                   "sockets; most grown first. With one FILE: its first and last report of "
                                   "one process.")
    d.add_argument("--json", action="store_true", help="JSON instead of text")
    d.add_argument("--top", type=count, default=20, metavar="N", help="stacks shown (default 20; 0: all)")
    d.add_argument("files", nargs="+", metavar="FILE", help="A B, or one file holding both")

    m = sub.add_parser("merge", parents=[common], help="reports of many processes or hosts, summed per stack",
                       description="Sum reports of many processes (or hosts) by stack fingerprint: live and "
                                   "leaked sockets, processes the stack was seen in, worst CLOSE_WAIT, frames.")
    m.add_argument("--format", choices=("text", "markdown", "json"), default="text")
    m.add_argument("--json", action="store_true", help="same as --format json")
    m.add_argument("--top", type=count, default=10, metavar="N", help="stacks shown (default 10; 0: all)")
    m.add_argument("files", nargs="+", metavar="FILE")

    c = sub.add_parser("check", parents=[common], help="a CI gate: exit 1 if a report leaks more than allowed",
                       description="Exit 1, printing one line per report over a limit (naming the process and "
                                   "its worst stack), else 0 with one OK line; 2 for usage errors and "
                                   "unreadable input.")
    c.add_argument("--max-leaked", type=count, default=0, metavar="N",
                   help="most leaked sockets a report may hold (default 0)")
    c.add_argument("--max-live", type=count, metavar="N", help="most live sockets a report may hold")
    c.add_argument("--no-report-ok", action="store_true",
                   help="no report at all passes (a program that never opened a socket writes none)")
    c.add_argument("files", nargs="+", metavar="FILE")

    # for the launcher (scripts/sockleak), not listed: the --fail-on-leak gate's two steps
    g = sub.add_parser("_gate-start")
    g.add_argument("--dir", required=True)
    g.add_argument("options", metavar="SOCKLEAK_OPTIONS")
    g = sub.add_parser("_gate-finish")
    g.add_argument("--dir", required=True)
    g.add_argument("--max-leaked", type=count, default=0)
    return p


def render_command(a):
    render_reports(load(a.files, every=a.all, since=a.since, pids=a.pid), a.format, a.top, a.output, a.append)
    return 0


def gate_start_command(a):
    sys.stdout.write(gate_start(a.options, a.dir) + "\n")
    return 0


def gate_finish_command(a):
    return gate_finish(a.dir, a.max_leaked)


COMMANDS = {"render": render_command, "symbolize": symbolize_command, "diff": diff_command, "merge": merge_command,
            "check": check_command, "_gate-start": gate_start_command, "_gate-finish": gate_finish_command}


def main(argv=None):
    """The tool's entry point: its exit status."""
    try:
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # `... | head` ends quietly
    except (AttributeError, ValueError):
        pass
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        if argv[:1] == ["_dump"]:  # the launcher's dump: its own messages, as "sockleak"
            return dump_command(argv[1:])
        a = make_parser().parse_args(argv)
        if a.cmd is None:
            raise Usage("%s: which command? render, symbolize, diff, merge or check (see '%s --help')" % (PROG, PROG))
        if a.cmd == "diff" and len(a.files) > 2:
            raise Usage("%s diff: give two reports (A B) or one file holding both" % PROG)
        return COMMANDS[a.cmd](a)
    except Usage as e:
        sys.stderr.write("%s\n" % e)
        return 2
    except Failure as e:
        warn(str(e), e.prog)
        return 2
