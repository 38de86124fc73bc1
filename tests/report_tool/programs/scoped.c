/* scoped (report_at_exit=0): reports scoped to a test. A socket left in CLOSE_WAIT
 * before the checkpoint (early_conn), a whole report (sockleak_report); then, since a
 * checkpoint, two connections left in CLOSE_WAIT by leak_in_test(), one read to
 * end-of-file by read_reply(), and one kept open by keep_open() (with the end the
 * listener accepted: not leaked), and the report of what was made since (checkpoint,
 * 4 sockets, 2 leaked); then an empty one, since a later checkpoint. No exit report:
 * the last lines of the file are the scoped reports. */
#include "prog.h"

static NOINLINE int early_conn(void)
{
    return socket(AF_INET, SOCK_STREAM, 0);
}

static NOINLINE int leak_in_test(void)
{
    return socket(AF_INET, SOCK_STREAM, 0);
}

static NOINLINE int keep_open(int l, const struct sockaddr_in *a)
{
    int c = socket(AF_INET, SOCK_STREAM, 0);
    MUST(c >= 0 && connect(c, (const struct sockaddr *)a, sizeof(*a)) == 0 && accept(l, NULL, NULL) >= 0);
    return c;
}

static NOINLINE void read_reply(int fd)
{
    char b[64];
    while (recv(fd, b, sizeof(b), 0) > 0)
        ;
}

int main(void)
{
    struct sockaddr_in a;
    int l = listen_local(&a), e = early_conn();
    MUST(l >= 0 && e >= 0);
    hang_up_on(l, e, &a);
    sleep_ms(20);
    MUST(sockleak_report && sockleak_report() == 0);

    unsigned long cp = sockleak_checkpoint();
    for (int k = 0; k < 2; k++) {
        int c = leak_in_test();
        MUST(c >= 0);
        hang_up_on(l, c, &a);
        if (k == 0)
            read_reply(c);
    }
    MUST(keep_open(l, &a) >= 0);
    sleep_ms(20);
    MUST(sockleak_report_since(cp, NULL, 0) == 0);
    MUST(sockleak_report_since(sockleak_checkpoint(), NULL, 0) == 0);
    return 0;
}
