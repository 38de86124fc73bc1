"""sockleak_report: sockleak's JSON reports for people, for tickets and for CI gates.

The tool behind `sockleak report` (and the launcher's --fail-on-leak and dump). Built
by `make` into one file, build/sockleak-report (a zipapp), installed as
$BINDIR/sockleak-report; from a checkout, `PYTHONPATH=scripts python3 -m
sockleak_report`. Standard library only. Calls go down the list:

  cli        the command line: argparse, one function per subcommand, exit statuses
  gate       --fail-on-leak: where a run's reports go, then show them and the verdict
  dump       dump: which signal the shim in a running process listens to, and send it
  check      the CI gate: reports against --max-leaked / --max-live
  compare    diff (growth from A to B) and merge (many processes), summed per stack
  symbolize  function, file and line for frames, from debug info found by build-id
  render     text or Markdown to stdout or to files (%p per process)
  text       the report as text, like the shim's own
  markdown   the report as GitHub Markdown for a ticket, with escaping
  sections   environment, coverage, trigger, growth, closed late, double closes, suppressions
  frames     frame lines, where a socket was opened, the headline
  reading    JSON Lines in (files, stdin, %p), last report per process or --all
  grouping   a report per stack: counts, states, fds, peers
  shimopts   SOCKLEAK_OPTIONS and signal names, parsed as the shim parses them
  values     untrusted values read safely; durations and plurals as the shim writes them
  errors     Failure, Usage and warn: how errors reach the user
"""
