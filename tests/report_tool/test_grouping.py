"""Grouping: a report per stack, from the shim's groups completed by its sockets."""
import collections

from shim_reports import R, ToolTest
from sockleak_report.grouping import MAX_FDS_SHOWN, analyze, state_counts
from sockleak_report.reading import load


class Grouping(ToolTest):
    def test_groups_are_the_shims_most_leaked_first(self):
        d = R.last("kinds")
        gs = analyze(d)
        self.assertEqual(sorted((g.stack, g.count, g.leaked) for g in gs),
                         sorted((x["stack"], x["count"], x["leaked"]) for x in d["groups"]))
        self.assertEqual([g.leaked for g in gs], sorted((g.leaked for g in gs), reverse=True))
        self.assertGreater(gs[0].leaked, 0)

    def test_the_sockets_give_fds_and_peers(self):
        d = R.last("leaky")
        g = analyze(d)[0]
        self.assertEqual(sorted(g.fds), sorted(s["fd"] for s in d["sockets"]))
        self.assertEqual(sum(g.peers.values()), 3)

    def test_without_groups_they_are_built_from_the_sockets(self):
        d = R.last("kinds")
        want = [(g.stack, g.count, g.leaked, dict(g.states)) for g in analyze(d)]
        del d["groups"]
        self.assertEqual([(g.stack, g.count, g.leaked, dict(g.states)) for g in analyze(d)], want)

    def test_sockets_without_a_tcp_state_are_named_by_family_and_type(self):
        counts = state_counts(load([R.path("kinds")])[0])
        self.assertEqual(counts["unix stream"], 1)
        self.assertEqual(counts["LISTEN"], 1)
        self.assertEqual(counts["CLOSE_WAIT"], 1)

    def test_the_state_counts_add_up_to_the_live_sockets(self):
        rep = load([R.path("kinds")])[0]
        self.assertEqual(sum(state_counts(rep).values()), rep.summary()["live"])

    def test_leak_kinds_are_counted_per_group(self):
        kinds = collections.Counter()
        for g in analyze(R.last("kinds")):
            kinds.update(g.kinds)
        self.assertEqual(kinds, collections.Counter({"close_wait": 1, "peer_closed": 1}))

    def test_the_close_wait_range_of_the_leaked_sockets(self):
        d = R.last("leaky")
        g = analyze(d)[0]
        cws = [s["close_wait_ms"] for s in d["sockets"]]
        self.assertEqual((g.cw_lo, g.cw_hi), (min(cws), max(cws)))

    def test_many_fds_are_sorted(self):
        gs = analyze(R.last("many"))
        self.assertGreater(len(gs[0].fds), MAX_FDS_SHOWN)
        self.assertEqual(gs[0].fds, sorted(gs[0].fds))

    def test_a_socket_without_a_stack_is_in_the_group_none(self):
        gs = analyze(R.last("no_stacks"))
        self.assertEqual([g.stack for g in gs], ["none"])
        self.assertEqual(gs[0].count, R.last("no_stacks")["summary"]["live"])
