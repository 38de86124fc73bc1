/* many: ARGV[1] accepted TCP connections whose clients hung up, left in CLOSE_WAIT, half
 * accepted in one function and half in another (the peers: one host, many ports), with
 * the file descriptor limit raised to the hard limit first. */
#include <sys/resource.h>

#include "prog.h"

static NOINLINE int accept_even(int l)
{
    return accept(l, NULL, NULL);
}

static NOINLINE int accept_odd(int l)
{
    return accept(l, NULL, NULL);
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 1000;
    struct rlimit rl;
    MUST(getrlimit(RLIMIT_NOFILE, &rl) == 0);
    rl.rlim_cur = rl.rlim_max;
    MUST(setrlimit(RLIMIT_NOFILE, &rl) == 0);
    struct sockaddr_in a;
    int l = listen_local(&a);
    for (int i = 0; i < n; i++) {
        int c = socket(AF_INET, SOCK_STREAM, 0);
        MUST(c >= 0 && connect(c, (struct sockaddr *)&a, sizeof(a)) == 0);
        MUST((i % 2 ? accept_odd(l) : accept_even(l)) >= 0);
        MUST(close(c) == 0);
    }
    MUST(close(l) == 0);
    return 0;
}
