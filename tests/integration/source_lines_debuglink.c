// Source lines from a separate debug file that the program names in .gnu_debuglink,
// beside it or in its .debug directory; none without one. Looking for a debug file
// that is not there loads no debuginfod client (libcurl, TLS) into the program. A
// program stripped of its symbol table too (strip -s) gets its function names from the
// debug file's DWARF, with their offsets.
// RUN: mkdir -p %T/a %T/b/.debug %T/c && cp %t %T/a/prog && objcopy --only-keep-debug %T/a/prog %T/a/prog.debug && strip --strip-debug %T/a/prog && objcopy --add-gnu-debuglink=%T/a/prog.debug %T/a/prog
// RUN: cp %T/a/prog %T/b/prog && cp %T/a/prog.debug %T/b/.debug/ && cp %T/a/prog %T/c/prog
// RUN: mkdir -p %T/d && strip -s %t -o %T/d/prog && cp %T/a/prog.debug %T/d/ && objcopy --add-gnu-debuglink=%T/d/prog.debug %T/d/prog
// RUN: for x in a b c d; do SOCKLEAK_OPTIONS="$SOCKLEAK_OPTIONS:log_path=%T/$x.jsonl" %T/$x/prog %T/$x.maps || exit 1; done
// EXPECT: [jsonl(x + ".jsonl")[0]["stacks"][0]["frames"][0]["function"] for x in "abc"] == ["open_here"] * 3
// EXPECT: jsonl("a.jsonl")[0]["stacks"][0]["frames"][0]["file"].endswith("tests/integration/source_lines_debuglink.c")
// EXPECT: jsonl("a.jsonl")[0]["stacks"][0]["frames"][0]["line"] == v("line")
// EXPECT: jsonl("b.jsonl")[0]["stacks"][0]["frames"][0]["line"] == v("line")
// EXPECT: jsonl("c.jsonl")[0]["stacks"][0]["frames"][0]["line"] is None
// EXPECT: [readf(x + ".maps") for x in "abc"] == ["client=0\n"] * 3
// EXPECT: [(f["function"], f["line"]) for f in jsonl("d.jsonl")[0]["stacks"][0]["frames"][:2]] == [("open_here", v("line")), ("main", v("call_line"))]
// EXPECT: jsonl("d.jsonl")[0]["stacks"][0]["frames"][0]["function_offset"] == jsonl("a.jsonl")[0]["stacks"][0]["frames"][0]["function_offset"]
#include <string.h>

#include "common.h"

int sockleak_report(void) __attribute__((weak));

static NOINLINE int open_here(int *line)
{
    *line = __LINE__ + 1;
    return socket(AF_INET, SOCK_STREAM, 0);
}

int main(int argc, char **argv)
{
    MUST(argc == 2);
    int line;
    MUST(open_here(&line) >= 0); /* call_line */
    printf("line=%d\ncall_line=%d\n", line, __LINE__ - 1);
    MUST(sockleak_report && sockleak_report() == 0);
    /* what the report's lookup left loaded in this process */
    FILE *m = fopen("/proc/self/maps", "re");
    MUST(m != NULL);
    char l[4096];
    int client = 0;
    while (fgets(l, sizeof(l), m))
        client |= strstr(l, "libdebuginfod") || strstr(l, "libcurl");
    fclose(m);
    FILE *o = fopen(argv[1], "we");
    MUST(o != NULL);
    fprintf(o, "client=%d\n", client);
    fclose(o);
    return 0;
}
