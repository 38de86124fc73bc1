/* double_close: a socket closed, then closed again from close_again() (EBADF): the
 * report's "unseen" counts a double close, with the site. */
#include "prog.h"

static NOINLINE int close_again(int fd)
{
    return close(fd);
}

int main(void)
{
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    MUST(s >= 0 && close(s) == 0);
    MUST(close_again(s) == -1 && errno == EBADF);
    MUST(socket(AF_INET, SOCK_DGRAM, 0) >= 0); /* a socket: the exit report is written */
    return 0;
}
