"""The --fail-on-leak gate: where a run's reports go, and the verdict once it has exited.

The launcher runs the command; the tool decides the rest, in two steps sharing a state
file in the launcher's temporary directory:

  _gate-start --dir DIR OPTIONS    prints the SOCKLEAK_OPTIONS to run with: the user's,
      plus format=json and a log_path in DIR; unless the user asked for JSON into a
      file of their own, which is then read (only the reports written from now on).
  _gate-finish --dir DIR --max-leaked N    shows the reports as the user asked for them
      (text is rendered now, on stderr, stdout or into the --log file, %p per process;
      JSON is copied to stderr or stdout), then checks them; the verdict goes to stderr.
      Exit status: 0 pass, 1 too many leaks, 2 unreadable reports.

A command that never opened a socket writes no report, and passes.
"""
import datetime
import glob
import json
import os
import sys

from .check import verdict
from .errors import Failure, warn
from .reading import load
from .render import render_reports
from .shimopts import option_value, quote_value
from .values import parse_time

STATE = "gate.json"
PROG = "sockleak"  # the launcher speaks


def plan(opts, tmpdir):
    """What the run's options say: {fmt, log, mine, pattern}; mine: the user's own JSON file."""
    fmt = (option_value(opts, "format") or "text").lower()
    if fmt == "jsonl":
        fmt = "json"  # the shim takes both, in any case
    log = option_value(opts, "log_path") or "stderr"
    mine = fmt == "json" and log not in ("stderr", "stdout")
    return {"fmt": fmt, "log": log, "mine": mine,
            "pattern": log if mine else os.path.join(tmpdir, "sockleak.%p.jsonl")}


def start(opts, tmpdir):
    """The SOCKLEAK_OPTIONS to run the command with; notes the plan and the time in tmpdir."""
    p = plan(opts, tmpdir)
    now = datetime.datetime.now(datetime.timezone.utc)
    p["since"] = now.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (now.microsecond // 1000)
    run_opts = opts
    if not p["mine"]:
        q = quote_value(p["pattern"])
        if q is None:
            raise Failure("TMPDIR holds both ' and \": the shim cannot parse it", PROG)
        run_opts = opts + (":" if opts else "") + "format=json:log_path=" + q
    try:
        with open(os.path.join(tmpdir, STATE), "w", encoding="utf-8") as f:
            json.dump(p, f)
    except OSError as e:
        raise Failure("cannot write in %s: %s" % (tmpdir, e.strerror or e), PROG) from None
    return run_opts


def show(p, tmpdir, out, err):
    """The run's reports as the user asked for them (not when they went to the user's own file)."""
    files = sorted(glob.glob(glob.escape(tmpdir) + "/sockleak.*.jsonl"))
    if p["mine"] or not files:
        return
    to = out if p["log"] == "stdout" else err
    try:
        if p["fmt"] == "json":
            to.flush()
            for path in files:
                with open(path, "rb") as f:
                    data = f.read()
                if hasattr(to, "buffer"):
                    to.buffer.write(data)
                else:
                    to.write(data.decode("utf-8", errors="replace"))
            to.flush()
            return
        reps = load([p["pattern"]], every=True)
        if p["log"] in ("stdout", "stderr"):
            render_reports(reps, "text", 0, stream=to)
        else:
            render_reports(reps, "text", 0, output=p["log"], append=True)
    except (Failure, OSError) as e:
        warn(str(e))  # the verdict still comes


def finish(tmpdir, max_leaked, out=None, err=None):
    """Show the run's reports, then the verdict on err: 0 pass, 1 too many leaks, 2 error."""
    out, err = out or sys.stdout, err or sys.stderr
    try:
        with open(os.path.join(tmpdir, STATE), encoding="utf-8") as f:
            p = json.load(f)
    except (OSError, ValueError) as e:
        raise Failure("no gate started in %s (%s)" % (tmpdir, e)) from None
    show(p, tmpdir, out, err)
    since = parse_time(p.get("since")) if p["mine"] else None
    reps = load([p["pattern"]], since=since, none_ok=True)
    if not reps:
        err.write("sockleak check: OK: no report to check\n")
        return 0
    bad, ok = verdict(reps, max_leaked)
    for b in bad:
        err.write("sockleak check: FAIL: %s\n" % b)
    if not bad:
        err.write("sockleak check: OK: %s\n" % ok)
    return 1 if bad else 0
