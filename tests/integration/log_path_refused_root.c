// A log_path the shim must not write, the cases that need root: an unwritable
// directory (the program runs as nobody) and a file that belongs to another user (it
// is neither written nor truncated). As in log_path_refused, whose program this test
// runs (%B/tests/integration/log_path_refused: a socket, a dump signal, exit), each
// gives one warning per process and the reports go to stderr instead.
// REQUIRES: root, setpriv
// RUN: chmod 755 %T ; mkdir %T/ro ; chmod 555 %T/ro ; SOCKLEAK_OPTIONS="format=json:log_path=%T/ro/r.%p.jsonl" setpriv --reuid=nobody --regid=nogroup --clear-groups %B/tests/integration/log_path_refused 2>%T/err3 ; echo rc3=$? ; grep -c "cannot write reports to '%T/ro/r\.[0-9]*\.jsonl' (Permission denied)" %T/err3 | sed 's/^/warn3=/' ; grep -c '^{"tool":"sockleak"' %T/err3 | sed 's/^/reports3=/' ; echo ro_files=$(ls -A %T/ro | wc -l)
// RUN: echo keep > %T/other.log ; chown nobody %T/other.log ; SOCKLEAK_OPTIONS="format=json:log_path=%T/other.log" %B/tests/integration/log_path_refused 2>%T/err4 ; echo rc4=$? ; grep -c "cannot write reports to '%T/other.log' (it belongs to another user)" %T/err4 | sed 's/^/warn4=/' ; grep -c '^{"tool":"sockleak"' %T/err4 | sed 's/^/reports4=/' ; echo other_kept=$(grep -c '^keep$' %T/other.log) other_size=$(wc -c < %T/other.log)
// EXPECT: [v("rc%d" % i) for i in (3, 4)] == [0] * 2
// EXPECT: [v("warn%d" % i) for i in (3, 4)] == [1] * 2
// EXPECT: [v("reports%d" % i) for i in (3, 4)] == [2] * 2
// EXPECT: v("ro_files") == 0 and v("other_kept") == 1 and v("other_size") == 5

/* The program is log_path_refused's (see the RUN lines): one program, two tests. */
int main(void)
{
    return 0;
}
