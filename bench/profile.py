#!/usr/bin/env python3
"""profile.py - where the shim's cost goes on the micro-benchmarks: instructions per
iteration, by function, counted by valgrind's callgrind (deterministic, unlike timers on
a shared machine; it counts user-space instructions only, not the kernel's).

Each micro mode runs under callgrind natively and with the shim, and callgrind counts
the instructions of the timed iterations only (micro turns collection on for them, after
its warm-up: CALLGRIND_TOGGLE_COLLECT), in the program's thread only: divided by the iterations, the cost of
one in the steady state. Start-up, the first stacks through new code (which libunwind
takes while the shim's thread makes the fast unwinder's rules) and the shim's thread
(its scans follow the clock, not the iterations) are left out. Prints, per mode, the instructions per iteration
without and with the shim and the functions that account for the difference
(inclusive: a function with its callees; self: its own instructions).

usage: profile.py [--lib build/libsockleak.so] [--bin build/bench] [--options OPTS] [MODE...]
       (modes: socket dup open accept; default socket dup open)
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile

N = 10000
WARMUP = 1000  # iterations before each of the two pauses, in every run


def callgrind(tmp, micro, mode, iters, lib, options, extra_env=None):
    out = os.path.join(tmp, f"cg.{mode}.{iters}.{'shim' if lib else 'native'}.{len(os.listdir(tmp))}.%p")
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    env["SOCKLEAK_OPTIONS"] = "report_at_exit=0" + (":" + options if options else "")
    # the shim's thread makes its unwinding rules: slow under valgrind
    env["MICRO_PAUSE_MS"] = "6000" if lib else "0"
    env["MICRO_WARMUP"] = str(WARMUP)
    env.update(extra_env or {})
    # --separate-threads: the program's own thread (file -01) is measured, not the shim's,
    # whose work (scans, the unwinder's rules) follows the clock, not the iterations
    cmd = ["valgrind", "--tool=callgrind", "--fair-sched=yes", "--separate-threads=yes",
           "--collect-atstart=no", f"--callgrind-out-file={out}"]
    if lib:  # through env(1), so that valgrind, not its launcher, sees the preload
        cmd += ["--trace-children=yes", "env", f"LD_PRELOAD={lib}"]
    subprocess.run(cmd + [micro, mode, str(iters)], env=env, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    prefix = os.path.basename(out)[:-2]
    found = []
    for f in os.listdir(tmp):  # one file per process: env's becomes micro's at exec, and
        if f.startswith(prefix) and f.endswith("-01"):  # the shim's helper children (forks)
            with open(os.path.join(tmp, f)) as fh:
                if any(line.startswith("cmd: ") and micro in line for line in fh):
                    found.append(os.path.join(tmp, f))
    if not found:
        raise RuntimeError(f"no callgrind output for {mode}")
    return max(found, key=total)  # the program itself, not a helper child


def functions(path, inclusive):
    """{function: instructions} from callgrind_annotate. Code inlined from a header is
    listed as "header.h:function" without a module: it is the function's own."""
    out = subprocess.run(["callgrind_annotate", "--auto=no", "--threshold=100",
                          f"--inclusive={'yes' if inclusive else 'no'}", path],
                         capture_output=True, text=True, check=True).stdout
    d, inlined = {}, {}
    for line in out.splitlines():
        m = re.match(r"\s*([\d,]+) \([ \d.%]+\)\s+(.*\S)", line)
        if not m or "PROGRAM TOTALS" in line:
            continue
        n = int(m.group(1).replace(",", ""))
        if not m.group(2).endswith("]"):  # inlined code, under its source file alone
            if not inclusive:  # (inclusive figures: the function's own line has them)
                name = re.sub(r"^\S*:", "", m.group(2))
                inlined[name] = inlined.get(name, 0) + n
            continue
        name = re.sub(r"^\S*:(?=\S+ \[)", "", m.group(2))  # drop the source file
        name = re.sub(r" \[(\S*/)?([^/\]]+)\]$", r" (\2)", name)  # module basename
        d[name] = d.get(name, 0) + n
    for fn, n in inlined.items():  # to the one function of that name, if there is one
        owners = [k for k in d if k.startswith(fn + " (")]
        key = owners[0] if len(owners) == 1 else fn
        d[key] = d.get(key, 0) + n
    return d


def total(path):
    out = subprocess.run(["callgrind_annotate", "--auto=no", path], capture_output=True, text=True).stdout
    m = re.search(r"([\d,]+)(?: \([ \d.%]+\))?\s+PROGRAM TOTALS", out)
    return int(m.group(1).replace(",", "")) if m else 0  # 0: nothing collected (a helper child)


def per_iteration(path, n, inclusive):
    return {k: v / n for k, v in functions(path, inclusive).items()}


def measure(tmp, micro, mode, lib, options="", n=N, extra_env=None):
    """Instructions per iteration of mode in the program's thread (lib: the shim, or ""
    for none), and the functions' {name: (inclusive, self)} per iteration. extra_env:
    more environment for micro (MICRO_IDLE_THREAD=1: a second thread that only sleeps)."""
    path = callgrind(tmp, micro, mode, n, lib, options, extra_env)
    got = total(path)
    if got == 0:  # micro toggles collection through valgrind/callgrind.h; built without it, nothing
        raise RuntimeError(f"callgrind counted nothing in {micro} {mode}: was it built without "
                           "valgrind/callgrind.h? (rebuild it: rm it, make bench)")
    incl, excl = per_iteration(path, n, True), per_iteration(path, n, False)
    return got / n, {k: (v, excl.get(k, 0)) for k, v in incl.items()}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--lib", default="build/libsockleak.so")
    ap.add_argument("--bin", default="build/bench")
    ap.add_argument("--options", default="", help="SOCKLEAK_OPTIONS for the shim, e.g. stack_depth=0")
    ap.add_argument("modes", nargs="*", default=["socket", "dup", "open"])
    a = ap.parse_args()
    lib = os.path.abspath(a.lib)
    micro = os.path.join(a.bin, "micro")
    with tempfile.TemporaryDirectory(prefix="sockleak-profile.") as tmp:
        for mode in a.modes:
            print(f"{mode}: callgrind ...", file=sys.stderr, flush=True)
            native, _ = measure(tmp, micro, mode, "")
            shim, funcs = measure(tmp, micro, mode, lib, a.options)
            print(f"\n== {mode}: {native:.0f} instructions per iteration natively, {shim:.0f} with the shim "
                  f"{'(' + a.options + ') ' if a.options else ''}"
                  f"(+{shim - native:.0f}, user space only)")
            print(f"   {'inclusive':>9} {'self':>6}  function")
            for name, (v, own) in sorted(funcs.items(), key=lambda kv: -kv[1][0]):
                if max(v, own) < 0.02 * (shim - native) or v >= native + (shim - native) * 0.999:
                    continue  # noise, or main() and its callers: the whole loop
                print(f"   {v:9.0f} {own:6.0f}  {name}")


if __name__ == "__main__":
    main()
