// Frames carry file and line when the program has debug information (read in-process
// with elfutils' libdw), and the module's build-id and offset always; source_lines=0
// turns the lookup off. glibc's own frames (__libc_start_main...) never carry one: the
// lookup skips them (their debug information, when installed, is costly to read).
// RUN: %t ; SOCKLEAK_OPTIONS="format=json:log_path=%T/report.%p.jsonl:source_lines=0" %t
// EXPECT: len(reports) == 2
// EXPECT: reports[0]["stacks"][0]["frames"][0]["file"].endswith("tests/integration/source_lines.c")
// EXPECT: reports[0]["stacks"][0]["frames"][0]["line"] == v("line")
// EXPECT: reports[0]["stacks"][0]["frames"][0]["function"] == "open_here"
// EXPECT: re.fullmatch(r"[0-9a-f]{40}", reports[0]["stacks"][0]["frames"][0]["build_id"])
// EXPECT: any(f["module"].endswith("/libc.so.6") for f in reports[0]["stacks"][0]["frames"])
// EXPECT: all(f["file"] is None for f in reports[0]["stacks"][0]["frames"] if "/libc.so" in f["module"] or "/ld-linux" in f["module"])
// EXPECT: reports[1]["stacks"][0]["frames"][0]["file"] is None and reports[1]["stacks"][0]["frames"][0]["line"] is None
// EXPECT: reports[1]["stacks"][0]["id"] == reports[0]["stacks"][0]["id"]
#include "common.h"

static NOINLINE int open_here(int *line)
{
    *line = __LINE__ + 1;
    return socket(AF_INET, SOCK_STREAM, 0);
}

int main(void)
{
    int line;
    MUST(open_here(&line) >= 0);
    printf("line=%d\n", line);
    return 0;
}
