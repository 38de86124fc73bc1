"""dump: ask running processes for a report.

Without --signal, through the shim's control socket: connect to the abstract unix
socket "sockleak.PID" (checking, with SO_PEERCRED, that PID holds it), send "dump",
and read where the report went. A process that could not write where its log_path
says (a server that dropped its privileges) sends the report itself, which dump
writes there (as the process's user when dump runs as root), or prints. No signal:
the program's sleeps, its signal handlers and its threads are left alone.

With --signal SIG (the old way, and for a shim without a control socket): is
libsockleak mapped in it (/proc/PID/maps)? Which dump_signal does the
shim in it listen to (the SOCKLEAK_OPTIONS of /proc/PID/environ, parsed as the shim
parses it; SIGUSR2 by default)? Does it catch that signal (SigCgt in
/proc/PID/status), so that the signal cannot kill it? Only then is it signalled.
A process whose environment strings were written over (nginx and redis set their
process titles there) shows neither SOCKLEAK_OPTIONS nor the preload: its signal is
unknown, and the one given is trusted. A program that handles the signal itself (a
JVM's SIGUSR2, nginx's) gets it: the shim steps aside for such a signal, which is why
the control socket is the default. --force skips the checks.

Run by the launcher as `sockleak-report _dump [--signal SIG] [--force] PID...`; it
speaks as the launcher ("sockleak: ..."). Exit status 0 if every PID was asked (and,
through the control socket, its report was written), 1 otherwise, 2 for usage errors.
"""
import errno
import os
import re
import socket
import struct
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


CONNECT_S = 2.0
ANSWER_S = 60.0  # the report of a process with 100,000 sockets takes a while


class ControlError(Exception):
    """The control socket could not be used: the message says why, for the user."""


def _recv_exact(s, n):
    data = bytearray()
    while len(data) < n:
        chunk = s.recv(min(n - len(data), 1 << 20))
        if not chunk:
            break
        data += chunk
    return bytes(data)


def ask_control(pid):
    """(status, where, intended, why, data) from the shim's control socket in pid."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.settimeout(CONNECT_S)
        try:
            s.connect("\0sockleak.%d" % pid)
        except OSError as e:
            if e.errno in (errno.ECONNREFUSED, errno.ENOENT):
                raise ControlError("no control socket: its shim has not started its thread (it starts with the "
                                   "first socket: nothing to report yet), or is an older one (--signal SIG asks "
                                   "by signal)") from None
            raise ControlError("cannot reach its control socket (%s)" % os.strerror(e.errno or 0)) from None
        cred = s.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
        holder = struct.unpack("3i", cred)[0]
        if holder != pid:
            raise ControlError("its control socket name, sockleak.%d, is held by process %d; not asking it"
                               % (pid, holder))
        s.settimeout(ANSWER_S)
        s.sendall(b"dump\n")
        head = bytearray()
        while not head.endswith(b"\n"):
            c = s.recv(1)
            if not c:
                break
            head += c
        fields = head.decode("utf-8", "replace").rstrip("\n").split("\t")
        if len(fields) != 6 or fields[0] != "sockleak 1" or not fields[5].isdigit():
            raise ControlError("its control socket gave no answer" if not head else
                               "its control socket answered something else than a sockleak 1 answer")
        status, where, intended, why, nbytes = fields[1], fields[2], fields[3], fields[4], int(fields[5])
        data = _recv_exact(s, nbytes) if nbytes else b""
        if len(data) != nbytes:
            raise ControlError("its report came back cut short (%d of %d bytes)" % (len(data), nbytes))
        return status, where, intended, why, data
    except socket.timeout:
        raise ControlError("its control socket did not answer within %gs" % ANSWER_S) from None
    except OSError as e:
        raise ControlError("its control socket failed (%s)" % os.strerror(e.errno or 0)) from None
    finally:
        s.close()


def _owner(pid):
    """The (uid, gid) a process runs as (effective), or None."""
    st = _read("/proc/%d/status" % pid) or ""
    u = re.search(r"^Uid:\s*\d+\s+(\d+)", st, re.M)
    g = re.search(r"^Gid:\s*\d+\s+(\d+)", st, re.M)
    return (int(u.group(1)), int(g.group(1))) if u and g else None


def write_for(pid, path, data):
    """Append data to path as the shim would have (0600, no link followed); a file dump
    creates as root is given to the process's user. None, or why not."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_NOCTTY | os.O_CLOEXEC,
                     0o600)
    except OSError as e:
        return os.strerror(e.errno or 0)
    try:
        st = os.fstat(fd)
        if not (st.st_mode & 0o170000) == 0o100000:
            return "not a regular file"
        owner = _owner(pid)
        if os.geteuid() == 0 and st.st_uid == 0 and st.st_size == 0 and owner and owner[0] != 0:
            try:
                os.fchown(fd, owner[0], owner[1])
            except OSError:
                pass
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        return None
    except OSError as e:
        return os.strerror(e.errno or 0)
    finally:
        os.close(fd)


def _place(where):
    return "its " + where if where in ("stderr", "stdout") else where


def dump_control(pid, who, refuse, out):
    """Ask pid through its control socket; True if its report was written somewhere."""
    try:
        status, where, intended, why, data = ask_control(pid)
    except ControlError as e:
        return refuse("%s: %s" % (who, e))
    if status == "refused":
        return refuse("%s refused: %s" % (who, why))
    if status == "ok":
        out.write("%s: %s: report written to %s\n" % (PROG, who, _place(where)))
        return True
    if status != "moved":
        return refuse("%s: unknown answer '%s'" % (who, status))
    elsewhere = "" if where in ("", "nowhere") else "; a copy went to %s" % _place(where)
    failed = write_for(pid, intended, data) if data else "no report came back"
    if failed is None:
        out.write("%s: %s: report written to %s by sockleak dump (the process cannot write there: %s%s)\n"
                  % (PROG, who, intended, why, elsewhere))
        return True
    out.write("%s: %s: neither it nor sockleak dump can write %s (%s; %s)%s; the report follows\n"
              % (PROG, who, intended, why, failed, elsewhere))
    out.flush()
    if data:
        out.write(data.decode("utf-8", "replace"))
    return bool(data)


def dump_one(pid, given, force, err, out=None):
    """Ask pid for a report; True if it was asked (signal) or its report written (control
    socket). Says why not on err."""
    out = out or sys.stdout

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
            return refuse("%s: cannot read /proc/%d/maps (another user?); not asking it (--force to insist)"
                          % (who, pid))
        if not mapped:
            return refuse("%s does not run the shim (no libsockleak in /proc/%d/maps); not asking it "
                          "(--force to insist)" % (who, pid))
    if given is None:
        ok = dump_control(pid, who, refuse, out)
        out.flush()
        return ok
    sig = target_signal(pid)
    if sig == UNKNOWN:
        sig = given  # its environment was written over (a process title): the user says which
    if sig == 0 and not force:
        return refuse("%s has dumps disabled (dump_signal=none in its SOCKLEAK_OPTIONS); not signalling it" % who)
    if sig != given and not force:
        return refuse("%s listens for SIG%s, not SIG%s; not signalling it (--force to insist)"
                      % (who, signal_name(sig), signal_name(given)))
    sig = given
    if not force and not catches(pid, sig):
        return refuse("%s does not catch SIG%s (yet?): it would die of it; not signalling it (--force to insist)"
                      % (who, signal_name(sig)))
    try:
        os.kill(pid, sig)
    except OSError:
        return refuse("%s: cannot send SIG%s (another user?)" % (who, signal_name(sig)))
    out.write("%s: asked %s for a report with SIG%s (written where its log_path says)\n"
              % (PROG, who, signal_name(sig)))
    out.flush()
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
