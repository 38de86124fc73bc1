// A process tree under the shim is quiet: a shell running 20 clean curls writes at most
// one line per process (text reports on stderr), and a bad option is said once for the
// whole tree (by its first process), not once per process, naming pid and program.
// REQUIRES: curl
// FORMAT: text
// ASAN: skip (curl and sh under the ASan runtime: what is tested is the plain shim in a tree of real programs)
// OPTIONS: no_such_option=1:log_path=stderr
// RUN: sh -c 'for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do curl -s -o /dev/null http://127.0.0.1:1/ ; done; echo curls=20' 2>%T/err ; cat %T/err ; echo lines=$(grep -c . %T/err)
// EXPECT: v("curls") == 20 and v("lines") <= 20
// (the first process under the shim is the runner's own shell: its line is in err)
// EXPECT: len(re.findall(r"(?m)^sockleak: sh \(pid \d+\): SOCKLEAK_OPTIONS: unknown option 'no_such_option'", out + err)) == 1
// EXPECT: len(re.findall(r"(?m)^==\d+==sockleak: no leaks in curl: \d+ sockets? opened, all closed$", out)) == 20
// EXPECT: "unknown option" not in out
int main(void)
{
    return 0;
}
