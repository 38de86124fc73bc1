/* eof_places (close_wait_after=0): ten accepted connections whose clients send a
 * request and hang up, so each sits in CLOSE_WAIT: reader_a() reads three of them to
 * end-of-file and returns without close(), reader_b() two, reader_c(), reader_d() and
 * reader_e() one each (five places: the text shows four, then "1 more places"), and
 * two are never read at all (their 100 bytes each are left unread). */
#include "prog.h"

static NOINLINE void reader_a(int fd)
{
    char b[64];
    while (recv(fd, b, sizeof(b), 0) > 0)
        ;
}

static NOINLINE void reader_b(int fd)
{
    char b[64];
    while (read(fd, b, sizeof(b)) > 0)
        ;
}

static NOINLINE void reader_c(int fd)
{
    char b[64];
    while (recv(fd, b, sizeof(b), 0) > 0)
        ;
}

static NOINLINE void reader_d(int fd)
{
    char b[64];
    while (recv(fd, b, sizeof(b), 0) > 0)
        ;
}

static NOINLINE void reader_e(int fd)
{
    char b[64];
    while (read(fd, b, sizeof(b)) > 0)
        ;
}

/* A client connects, sends 100 bytes and hangs up; the connection is accepted here. */
static NOINLINE int serve(int l, const struct sockaddr_in *addr)
{
    int c = socket(AF_INET, SOCK_STREAM, 0);
    MUST(c >= 0 && connect(c, (const struct sockaddr *)addr, sizeof(*addr)) == 0);
    int s = accept(l, NULL, NULL);
    char req[100];
    memset(req, 'x', sizeof(req));
    MUST(s >= 0 && write(c, req, sizeof(req)) == (ssize_t)sizeof(req) && close(c) == 0);
    return s;
}

int main(void)
{
    struct sockaddr_in a;
    int l = listen_local(&a);
    void (*readers[])(int) = { reader_a, reader_a, reader_a, reader_b, reader_b, reader_c, reader_d, reader_e,
                               NULL, NULL };
    for (size_t k = 0; k < sizeof(readers) / sizeof(readers[0]); k++) {
        int s = serve(l, &a);
        if (readers[k])
            readers[k](s);
    }
    MUST(close(l) == 0);
    sleep_ms(50);
    return 0;
}
