// The end-of-file stack: a server whose handler returns after recv() == 0 without
// closing leaves sockets in CLOSE_WAIT; each carries eof_stack, the stack of the recv()
// that returned 0, naming the handler with file and line, and eof_ms. The report groups
// them by (opening stack, end-of-file stack) and says where end-of-file was read. A
// handler that closes after end-of-file leaves nothing behind; a socket whose peer has
// not hung up has read no end-of-file.
// OPTIONS: close_wait_after=200ms:scan_interval=50ms
// RUN: %t ; SOCKLEAK_OPTIONS="format=text:log_path=%T/text.txt:close_wait_after=200ms" %t
// EXPECT: sorted(s["fd"] for s in r["sockets"] if s["leak"] == "close_wait") == j("forgot")
// EXPECT: all(sock(fd)["state"] == "CLOSE_WAIT" and sock(fd)["eof_stack"] is not None for fd in j("forgot"))
// EXPECT: len({sock(fd)["eof_stack"] for fd in j("forgot")}) == 1
// EXPECT: stack(sock(j("forgot")[0])["eof_stack"])[0]["function"] == "handle_request"
// EXPECT: stack(sock(j("forgot")[0])["eof_stack"])[0]["file"].endswith("tests/integration/eof_stack.c")
// EXPECT: stack(sock(j("forgot")[0])["eof_stack"])[0]["line"] == v("eof_line")
// EXPECT: fns(sock(j("forgot")[0])["eof_stack"])[1] == "serve"
// EXPECT: fn(sock(j("forgot")[0])) == "serve" and sock(j("forgot")[0])["stack"] != sock(j("forgot")[0])["eof_stack"]
// EXPECT: all(0 <= sock(fd)["eof_ms"] <= sock(fd)["age_ms"] and sock(fd)["eof_ms"] >= 200 for fd in j("forgot"))
// EXPECT: all(sock(fd)["unread_bytes"] == 0 for fd in j("forgot"))
// EXPECT: r["summary"]["live"] == 6 and len([s for s in r["sockets"] if s["eof_stack"]]) == 3
// EXPECT: sock(v("open"))["state"] == "ESTABLISHED" and sock(v("open"))["eof_stack"] is None and sock(v("open"))["eof_ms"] is None
// EXPECT: r["summary"]["leaked"] == 3 and r["summary"]["close_wait"] == 3
// EXPECT: re.search(r"^==\d+==sockleak: 3 sockets stuck in CLOSE_WAIT for .*, opened at serve \(eof_stack.c:\d+\); end-of-file read at handle_request \(eof_stack.c:%d\)$" % v("eof_line"), readf("text.txt"), re.M)
// EXPECT: re.search(r"^  end-of-file read at handle_request \(eof_stack.c:%d\), never closed \(3 sockets, .* ago\):\n    #0 0x[0-9a-f]+ in handle_request tests/integration/eof_stack.c:%d .*\n    #1 0x[0-9a-f]+ in serve " % (v("eof_line"), v("eof_line")), readf("text.txt"), re.M)
// EXPECT: readf("text.txt").count("end-of-file read at") == 2
#include "common.h"

static int port, eof_line;

/* Reads the request to its end, then returns: the close is forgotten. */
static NOINLINE void handle_request(int fd)
{
    char buf[16];
    for (;;) {
        eof_line = __LINE__ + 1;
        ssize_t n = recv(fd, buf, sizeof(buf), 0);
        if (n <= 0)
            return;
    }
}

/* The same, done right. */
static NOINLINE void handle_and_close(int fd)
{
    char buf[16];
    while (read(fd, buf, sizeof(buf)) > 0)
        ;
    close(fd);
}

/* A client sends a request and hangs up; the server accepts and handles it. */
static NOINLINE int serve(int l, void (*handler)(int))
{
    int c = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = local_addr(port);
    MUST(connect(c, (struct sockaddr *)&a, sizeof(a)) == 0);
    int s = accept(l, NULL, NULL);
    MUST(s >= 0);
    MUST(write(c, "GET / HTTP/1.0\r\n\r\n", 18) == 18);
    close(c);
    handler(s);
    return s;
}

int main(void)
{
    int l = listen_local(&port);
    int forgot[3];
    for (int i = 0; i < 3; i++)
        forgot[i] = serve(l, handle_request);
    for (int i = 0; i < 2; i++)
        serve(l, handle_and_close);
    int open = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = local_addr(port);
    MUST(connect(open, (struct sockaddr *)&a, sizeof(a)) == 0);
    int peer = accept(l, NULL, NULL);
    MUST(peer >= 0);
    sleep_ms(300);
    printf("forgot=[%d, %d, %d]\nopen=%d eof_line=%d\n", forgot[0], forgot[1], forgot[2], open, eof_line);
    return 0;
}
