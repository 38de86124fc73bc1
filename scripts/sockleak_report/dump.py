"""dump: ask running processes for a report, by the signal the shim in each listens to.

For each PID: is libsockleak mapped in it (/proc/PID/maps)? Which dump_signal does the
shim in it listen to (the SOCKLEAK_OPTIONS of /proc/PID/environ, parsed as the shim
parses it; SIGUSR2 by default)? Does it catch that signal (SigCgt in
/proc/PID/status), so that the signal cannot kill it? Only then is it signalled.
A process whose environment strings were written over (nginx and redis set their
process titles there) shows neither SOCKLEAK_OPTIONS nor the preload: its signal is
unknown, and it is signalled only with --signal, never with a guess (nginx takes
SIGUSR2 as "upgrade the binary"). --force skips the checks.

Run by the launcher as `sockleak-report _dump [--signal SIG] [--force] PID...`; it
speaks as the launcher ("sockleak: ..."). Exit status 0 if every PID was signalled,
1 otherwise, 2 for usage errors.
"""
import os
import re
import sys

from .errors import Usage
from .shimopts import SIGNALS, option_value, parse_signal, signal_name

PROG = "sockleak"
UNKNOWN = "unknown"
USR2 = SIGNALS["USR2"]


def _usage(msg):
    return Usage("%s: dump: %s (see '%s --help')" % (PROG, msg, PROG))


def _read(path, mode="r"):
    try:
        with open(path, mode) as f:
            return f.read()
    except OSError:
        return None


def target_signal(pid):
    """The signal number the shim in pid listens to, 0 if its dumps are disabled, or
    UNKNOWN when its environment names neither SOCKLEAK_OPTIONS nor a preloaded shim."""
    env = _read("/proc/%d/environ" % pid, "rb") or b""
    opts, have_opts, preloaded = "", False, False
    for entry in env.split(b"\0"):
        e = entry.decode("utf-8", errors="surrogateescape")
        if e.startswith("SOCKLEAK_OPTIONS=") and not have_opts:
            opts, have_opts = e[len("SOCKLEAK_OPTIONS="):], True  # getenv() takes the first
        elif e.startswith("LD_PRELOAD=") and "libsockleak" in e:
            preloaded = True
    if not have_opts and not preloaded:
        return UNKNOWN
    value = option_value(opts, "dump_signal")
    n = parse_signal(value) if value is not None else None
    return USR2 if n is None else n  # unset, or a value the shim refused: it kept SIGUSR2


def maps_shim(pid):
    """True if libsockleak is mapped in pid, False if not, None if its maps cannot be read."""
    maps = _read("/proc/%d/maps" % pid)
    return None if maps is None else "libsockleak" in maps


def catches(pid, n):
    """Does pid catch signal n (SigCgt in /proc/PID/status)?"""
    m = re.search(r"^SigCgt:\s*([0-9a-fA-F]+)", _read("/proc/%d/status" % pid) or "", re.M)
    return bool(m) and bool((int(m.group(1), 16) >> (n - 1)) & 1)


def parse_args(argv):
    """(signal number or None, force, [pids]); raises Usage as the launcher's parser did."""
    given, force, pids = None, False, []
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "--signal":
            if i + 1 >= len(argv):
                raise _usage("--signal needs a value")
            given = argv[i + 1]
            i += 2
            continue
        if a.startswith("--signal="):
            given = a[len("--signal="):]
        elif a == "--force":
            force = True
        elif a == "--":
            pids += argv[i + 1:]
            break
        elif a.startswith("-"):
            raise _usage("unknown option '%s'" % a)
        else:
            pids.append(a)
        i += 1
    if not pids:
        raise _usage("which process? give one or more PIDs")
    sig = None
    if given is not None and given != "":
        sig = parse_signal(given)
        if sig is None:
            raise _usage("'%s' is not a signal the shim can use" % given)
        if sig == 0:
            raise _usage("--signal none sends nothing")
    for p in pids:
        if not re.fullmatch(r"[1-9][0-9]*", p):
            raise _usage("'%s' is not a process id" % p)
    return sig, force, [int(p) for p in pids]


def dump_one(pid, given, force, err):
    """Signal pid if it is safe; True if it was signalled. Says why not on err."""
    def refuse(msg):
        err.write("%s: %s\n" % (PROG, msg))
        return False

    if not os.path.isdir("/proc/%d" % pid):
        return refuse("%d: no such process" % pid)
    comm = (_read("/proc/%d/comm" % pid) or "?\n").rstrip("\n") or "?"
    who = "%d (%s)" % (pid, comm)
    if not force:
        mapped = maps_shim(pid)
        if mapped is None:
            return refuse("%s: cannot read /proc/%d/maps (another user?); not signalling it (--force to insist)"
                          % (who, pid))
        if not mapped:
            return refuse("%s does not run the shim (no libsockleak in /proc/%d/maps); not signalling it "
                          "(--force to insist)" % (who, pid))
    sig = target_signal(pid)
    if sig == UNKNOWN:
        if given is None and not force:
            return refuse("%s: cannot tell its dump signal (its environment, /proc/%d/environ, was written over, as "
                          "programs that set their process title do); give it with --signal; not signalling it"
                          % (who, pid))
        sig = given if given is not None else USR2  # the user says which (or insists, with --force)
    if sig == 0 and not force:
        return refuse("%s has dumps disabled (dump_signal=none in its SOCKLEAK_OPTIONS); not signalling it" % who)
    if given is not None:
        if sig != given and not force:
            return refuse("%s listens for SIG%s, not SIG%s; not signalling it (--force to insist)"
                          % (who, signal_name(sig), signal_name(given)))
        sig = given
    if sig == 0:
        sig = USR2  # --force with dumps disabled: the user insists
    if not force and not catches(pid, sig):
        return refuse("%s does not catch SIG%s (yet?): it would die of it; not signalling it (--force to insist)"
                      % (who, signal_name(sig)))
    try:
        os.kill(pid, sig)
    except OSError:
        return refuse("%s: cannot send SIG%s (another user?)" % (who, signal_name(sig)))
    sys.stdout.write("%s: asked %s for a report with SIG%s\n" % (PROG, who, signal_name(sig)))
    sys.stdout.flush()
    return True


def dump_command(argv, err=None):
    """sockleak dump [--signal SIG] [--force] PID...: the exit status."""
    err = err or sys.stderr
    given, force, pids = parse_args(argv)
    failed = False
    for pid in pids:
        if not dump_one(pid, given, force, err):
            failed = True
    return 1 if failed else 0
