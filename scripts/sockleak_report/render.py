"""render: reports for people, as text or Markdown, to stdout or to files.

-o OUT writes there instead; a %p in OUT gives each process its own file (as log_path
does), and several reports going to one file are separated as on stdout.
"""
import sys

from .errors import Failure
from .markdown import render_markdown
from .reading import expand_out
from .text import render_text


def render_reports(reps, fmt="text", top=10, output=None, append=False, stream=None):
    """Write the reports, rendered, to stream (stdout) or to output (a path, %p per pid)."""
    fn = render_markdown if fmt == "markdown" else render_text
    sep = "\n---\n\n" if fmt == "markdown" else "\n"
    if not output:
        (stream or sys.stdout).write(sep.join(fn(r, top) for r in reps))
        return
    opened = {}
    try:
        for r in reps:
            path = expand_out(output, r.pid)
            if path not in opened:
                opened[path] = open(path, "a" if append else "w", encoding="utf-8")
            else:
                opened[path].write(sep)
            opened[path].write(fn(r, top))
    except OSError as e:
        raise Failure("cannot write %s: %s" % (e.filename or output, e.strerror or e)) from None
    finally:
        for f in opened.values():
            f.close()
