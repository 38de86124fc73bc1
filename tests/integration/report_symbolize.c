// sockleak report symbolize on the report of a stripped program: the shim has no name
// for its frames; symbolize finds the separate debug file by build-id (DIR/NAME.debug,
// DIR/.build-id/xx/rest.debug, an unstripped copy in --binary-dir), skips a decoy of
// the same name whose build-id differs, and fills in function, file and line, the same
// as the program's own __LINE__. Every other key and every stack id stays as it was.
// PRELOAD: launcher
// ASAN: skip
// RUN: mkdir -p %T/debug %T/decoy %T/bin && cp %t %T/prog && cp %t %T/bin/prog && objcopy --only-keep-debug %T/prog %T/debug/prog.debug && strip --strip-debug --strip-unneeded %T/prog
// RUN: objcopy --only-keep-debug %B/examples/leaky_client %T/decoy/prog.debug
// RUN: B=$(readelf -n %T/prog | sed -n 's/.*Build ID: *//p') && mkdir -p %T/bid/.build-id/$(echo $B | cut -c1-2) && cp %T/debug/prog.debug %T/bid/.build-id/$(echo $B | cut -c1-2)/$(echo $B | cut -c3-).debug
// RUN: %sockleak --json --log %T/report.%p.jsonl -- %T/prog
// RUN: %sockleak report symbolize --debug-dir %T/decoy --debug-dir %T/debug %T/report.*.jsonl > %T/sym1.jsonl
// RUN: %sockleak report symbolize --addr2line addr2line --debug-dir %T/bid -o %T/sym2.jsonl %T/report.*.jsonl
// RUN: cat %T/report.*.jsonl | %sockleak report symbolize --binary-dir %T/bin --debug-dir %T/decoy - > %T/sym3.jsonl
// RUN: %sockleak report symbolize %T/report.*.jsonl > %T/sym4.jsonl
// EXPECT: fn(sock(v("fd"))) is None and stack(sock(v("fd"))["stack"])[0]["module"].endswith("/prog")
// EXPECT: all(stack(sock(v("fd"))["stack"], jsonl(n)[0])[0]["function"] == "open_conn" for n in ["sym1.jsonl", "sym2.jsonl", "sym3.jsonl"])
// EXPECT: all(stack(sock(v("fd"))["stack"], jsonl(n)[0])[0]["file"].endswith("/report_symbolize.c") for n in ["sym1.jsonl", "sym2.jsonl", "sym3.jsonl"])
// EXPECT: all(stack(sock(v("fd"))["stack"], jsonl(n)[0])[0]["line"] == v("socket_line") for n in ["sym1.jsonl", "sym2.jsonl", "sym3.jsonl"])
// EXPECT: all([f.get("function"), f.get("line")] == ["main", v("call_line")] for f in [stack(sock(v("fd"))["stack"], jsonl(n)[0])[1] for n in ["sym1.jsonl", "sym2.jsonl", "sym3.jsonl"]])
// EXPECT: [s["id"] for s in jsonl("sym1.jsonl")[0]["stacks"]] == [s["id"] for s in r["stacks"]]
// EXPECT: all(all(k in f1 and f0[k] in (None, f1[k]) for f0, f1 in zip(s0["frames"], s1["frames"]) for k in f0) for s0, s1 in zip(r["stacks"], jsonl("sym1.jsonl")[0]["stacks"]))
// EXPECT: {k: v for k, v in jsonl("sym1.jsonl")[0].items() if k != "stacks"} == {k: v for k, v in r.items() if k != "stacks"}
// EXPECT: stack(sock(v("fd"))["stack"], jsonl("sym4.jsonl")[0])[0].get("function") is None and "no file with build-id" in err
#include "common.h"

static int socket_line, call_line;

int open_conn(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0); socket_line = __LINE__;
    return s;
}

int main(void)
{
    int fd = open_conn(); call_line = __LINE__;
    MUST(fd >= 0);
    printf("fd=%d socket_line=%d call_line=%d\n", fd, socket_line, call_line);
    return 0;
}
