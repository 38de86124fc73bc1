"""The tests' own rules: a test that makes no assertion fails; one that cannot run says SKIP and why."""
import unittest

from shim_reports import ToolTest


class Harness(ToolTest):
    def run_inner(self, method):
        class Inner(ToolTest):
            pass

        Inner.test_it = method
        result = unittest.TestResult()
        Inner("test_it").run(result)
        return result

    def test_a_test_without_an_assertion_fails(self):
        result = self.run_inner(lambda self: None)
        self.assertEqual(len(result.failures), 1)
        self.assertIn("the test made no assertion", result.failures[0][1])

    def test_a_test_with_an_assertion_passes(self):
        result = self.run_inner(lambda self: self.assertTrue(True))
        self.assertTrue(result.wasSuccessful())
        self.assertEqual(result.testsRun, 1)

    def test_a_test_that_cannot_run_is_skipped_with_its_reason(self):
        def cannot(self):
            raise unittest.SkipTest("no such tool here")

        result = self.run_inner(cannot)
        self.assertEqual([why for _t, why in result.skipped], ["no such tool here"])
        self.assertEqual(result.failures, [])
