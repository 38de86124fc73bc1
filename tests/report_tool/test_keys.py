"""Every key the shim writes (src/report/json.c), against what the tool does with it.

The table is the audit: a key the shim starts writing fails
test_every_key_the_shim_writes_is_known until someone decides here what the tool does
with it (the report tool once dropped "growth" and "closed_late" because it expected
lists where the shim writes objects). Keys whose values are names (states, leak kinds,
sysctls) count as one key; NOT_YET holds the contract's keys this shim does not write,
ONLY_IN the keys only a run with an interpreter writes (JavaScript columns: node).
"""
import shim_reports
from shim_reports import R, ToolTest

# key path -> what the tool does with it
KEYS = {
    "tool": "reading: a line without tool=sockleak is not a report",
    "version": "markdown Environment",
    "pid": "reading: one process per (file, pid); every renderer",
    "ppid": "compare: a fork child's inherited sockets counted once when the parent's report is merged",
    "program": "headline, totals, merge, check",
    "reason": "totals; an emfile/threshold report shows its trigger",
    "checkpoint": "a scoped report (sockleak_report_since): its headline ('N sockets left open since checkpoint C', "
                  "'no socket made since checkpoint C is still open'); a part, never a process's last or worst "
                  "report without --all (render, check, diff, merge)",
    "timestamp": "totals; --since",
    "uptime_ms": "totals",
    "unwinder": "markdown Environment",
    "attached": "totals: 'attached (at T; N sockets were open then, listed as pre-attach)'; markdown Environment",
    "options.close_wait_after_ms": "totals, headline",
    "options.scan_interval_ms": "markdown Environment",
    "options.stack_depth": "'no stack: stack_depth=0'",
    "options.max_age_ms": "markdown Environment",
    "options.idle_after_ms": "markdown Environment",
    "options.fd_threshold": "threshold trigger line",
    "options.max_sockets": "markdown Environment",
    "trigger.open_fds": "trigger line",
    "trigger.nofile_soft": "trigger line",
    "trigger.threshold_fds": "not shown (environment.threshold_fds is)",
    "trigger.max_sockets": "trigger line: (max_sockets reached)",
    "trigger.errno": "trigger line: EMFILE or ENFILE",
    "summary.live": "totals, check --max-live",
    "summary.close_wait": "totals, headline",
    "summary.leaked": "totals, headline, check",
    "summary.leaked_closed": "check: counted with leaked; headline; SUMMARY: N leaked, then closed later",
    "summary.listening": "totals",
    "summary.peer_closed": "not shown (the sockets' leak kinds are)",
    "summary.ignored": "totals: N ignored (sockleak_ignore)",
    "summary.suppressed": "totals and the suppressed line",
    "summary.leaks": "not shown (the groups' kinds come from the sockets)",
    "summary.stacks": "not shown (the groups are counted)",
    "summary.opened": "SUMMARY line",
    "summary.closed": "SUMMARY line",
    "coverage.untracked": "coverage line",
    "coverage.untracked_nomem": "not shown (a part of untracked)",
    "coverage.closed_behind_back": "coverage line",
    "coverage.stacks_dropped": "coverage line",
    "coverage.stacks_fast": "not shown: how the stacks were taken (bench, unwinder=verify)",
    "coverage.stacks_libunwind": "same",
    "coverage.unwinder_mismatches": "coverage line",
    "coverage.truncated": "coverage line",
    "sockets": "grouping",
    "sockets[].fd": "fds of a stack",
    "sockets[].family": "state of a socket without a TCP state: 'unix stream'",
    "sockets[].type": "same",
    "sockets[].protocol": "carried along, not shown",
    "sockets[].state": "states",
    "sockets[].local": "local addresses of a stack without peers",
    "sockets[].peer": "peers of a stack",
    "sockets[].origin": "'opened by socket()', 'accepted'...",
    "sockets[].age_ms": "oldest",
    "sockets[].close_wait_ms": "CLOSE_WAIT range in the headline",
    "sockets[].peer_closed_ms": "carried along, not shown",
    "sockets[].idle_ms": "idle: up to",
    "sockets[].listening": "carried along (summary.listening is shown)",
    "sockets[].leak": "leak kinds",
    "sockets[].ignored": "carried along (summary.ignored is shown)",
    "sockets[].stack": "grouping",
    "sockets[].origin_stack": "carried along, not shown",
    "sockets[].eof_stack": "'end-of-file read at PLACE' in the headline and under the stack, with its frames, most "
                           "sockets first; diff and merge per stack",
    "sockets[].eof_ms": "'never closed (N sockets, X ago)'",
    "sockets[].unread_bytes": "'end-of-file never read: N sockets, B bytes never read'; merge and diff sum them",
    "sockets[].forked": "merge counts an inherited socket once",
    "sockets[].inode": "carried along, not shown",
    "sockets[].thread": "carried along, not shown",
    "stacks": "frames per stack id",
    "stacks[].id": "stack ids",
    "stacks[].frames": "frames",
    "stacks[].frames[].ip": "frame lines",
    "stacks[].frames[].function": "frame lines, where, symbolize fills it in",
    "stacks[].frames[].function_offset": "frame lines",
    "stacks[].frames[].module": "frame lines, symbolize",
    "stacks[].frames[].module_offset": "frame lines, symbolize",
    "stacks[].frames[].build_id": "symbolize: the file of the same build",
    "stacks[].frames[].file": "frame lines, where, symbolize fills it in",
    "stacks[].frames[].line": "same",
    "stacks[].frames[].inlined": "frame lines: '(inlined)'",
    "stacks[].frames[].lang": "language frames: '#2 fetch_item /app/client.py:9 (python)'; the headline names the "
                              "first of the program's own; symbolize leaves them as they are",
    "stacks[].frames[].column": "JavaScript frames: 'file:line:column (js)'",
    "groups": "grouping (completed by the sockets)",
    "groups[].stack": "grouping",
    "groups[].count": "grouping",
    "groups[].leaked": "grouping",
    "groups[].close_wait": "grouping",
    "groups[].peer_closed": "not shown (the sockets' leak kinds are)",
    "groups[].leaks": "not shown (the sockets' leak kinds are)",
    "groups[].max_close_wait_ms": "longest CLOSE_WAIT",
    "groups[].oldest_ms": "oldest",
    "groups[].origin": "'opened by ...'",
    "groups[].not_tcp": "not shown (the sockets give family and type)",
    "groups[].states": "states",
    "growth.since_ms": "'Growing since the previous report (X ago)'",
    "growth.stacks": "growth rows",
    "growth.stacks[].stack": "growth rows",
    "growth.stacks[].added": "growth rows",
    "growth.stacks[].removed": "growth rows",
    "growth.stacks[].net": "growth rows (only stacks that grew)",
    "growth.stacks[].added_total": "growth rows",
    "growth.stacks[].removed_total": "growth rows",
    "closed_late.total": "not shown (the sockets listed are)",
    "closed_late.lost": "coverage: events lost",
    "closed_late.sockets": "'Closed late' section",
    "closed_late.sockets[].fd": "same",
    "closed_late.sockets[].stack": "same: opened at",
    "closed_late.sockets[].leak": "same",
    "closed_late.sockets[].lifetime_ms": "same",
    "closed_late.sockets[].closed_after_report_ms": "same",
    "unseen.found_open": "coverage line",
    "unseen.open_now": "coverage line",
    "unseen.closed": "coverage line",
    "unseen.scm_rights": "not shown (those sockets are tracked, origin scm_rights)",
    "unseen.double_closes": "coverage line",
    "unseen.events_lost": "coverage: events lost",
    "unseen.double_close_sites": "'Double close' blocks",
    "unseen.double_close_sites[].stack": "same: frames",
    "unseen.double_close_sites[].count": "same",
    "unseen.double_close_sites[].fd": "same",
    "suppressions": "suppressed line / table",
    "suppressions[].rule": "same",
    "suppressions[].count": "same",
    "environment.hostname": "environment line",
    "environment.kernel": "environment line",
    "environment.nofile_soft": "environment line: file descriptors",
    "environment.nofile_hard": "same",
    "environment.open_fds": "same",
    "environment.threshold_fds": "environment line",
    "environment.sysctls": "environment line, one per sysctl",
}
# keys of the contract (../shared/CONTRACT.md) this shim does not write yet: the runs
# cannot show them
NOT_YET = {}
# keys only a run with an interpreter writes: without it, the runs cannot show them
ONLY_IN = {"stacks[].frames[].column": "node"}
NAMED = ("summary.leaks", "groups[].leaks", "groups[].states", "environment.sysctls")  # keys that are names


def key_paths(v, path=""):
    """The key paths of a JSON value: "sockets[].fd"."""
    if path in NAMED:
        return {path}
    if isinstance(v, dict):
        out = {path} if not v and path else set()
        for k, x in v.items():
            out |= key_paths(x, "%s.%s" % (path, k) if path else k)
        return out
    if isinstance(v, list):
        out = {path}
        for x in v:
            out |= key_paths(x, path + "[]")
        return out
    return {path}


class Keys(ToolTest):
    def written(self):
        paths = set()
        for name in shim_reports.RUNS:
            if name not in shim_reports.TEXT_RUNS and R.files(name):
                for d in R.reports(name):
                    paths |= key_paths(d)
        return paths

    def test_every_key_the_shim_writes_is_known(self):
        unknown = sorted(p for p in self.written() if p not in KEYS and p not in NOT_YET)
        self.assertEqual(unknown, [])

    def test_the_runs_cover_the_table(self):
        # every key of the table was seen in a real report (emfile gives "trigger", double_close "unseen" sites...)
        written = self.written()
        self.assertEqual(sorted(k for k in KEYS if k not in written and ONLY_IN.get(k) not in R.missing), [])
