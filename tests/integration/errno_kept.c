// Every interposed call hands the host libc's return value and errno, on failure as
// on success, including errno values the shim's own bookkeeping could clobber.
// EXPECT: j("results") == j("expected")
// EXPECT: r["summary"]["live"] == 0
#include <fcntl.h>
#include <linux/close_range.h>
#include <signal.h>

#include "common.h"

#define CALL(expr) do { errno = 12345; long r_ = (long)(expr); printf("%s[%ld,%d]", n++ ? "," : "", r_, r_ < 0 ? errno : 0); } while (0)

int main(void)
{
    int n = 0;
    int sv[2];
    struct sockaddr_in a = local_addr(1);
    printf("results=[");
    CALL(socket(12345, SOCK_STREAM, 0));             /* EAFNOSUPPORT */
    CALL(socket(AF_INET, 12345, 0));                  /* EINVAL */
    CALL(socketpair(AF_INET, SOCK_STREAM, 0, sv));    /* EOPNOTSUPP */
    CALL(accept(-1, NULL, NULL));                     /* EBADF */
    CALL(accept4(0, NULL, NULL, 12345));              /* EINVAL */
    CALL(connect(-1, (struct sockaddr *)&a, sizeof(a))); /* EBADF */
    CALL(connect(0, (struct sockaddr *)&a, sizeof(a)));  /* ENOTSOCK */
    CALL(close(-1));                                  /* EBADF */
    CALL(dup(-1));                                    /* EBADF */
    CALL(dup2(-1, 30));                               /* EBADF */
    CALL(dup3(0, 0, 0));                              /* EINVAL */
    CALL(fcntl(-1, F_DUPFD, 0));                      /* EBADF */
    CALL(fcntl(0, F_DUPFD, -1));                      /* EINVAL */
    CALL(close_range(10, 5, 0));                      /* EINVAL */
    CALL(close_range(3, 5, 0x4000));                  /* EINVAL */
    CALL(sigaction(SIGKILL, &(struct sigaction){ .sa_handler = SIG_IGN }, NULL)); /* EINVAL */
    CALL(sigaction(SIGUSR2, NULL, NULL));             /* 0 */
    printf("]\n");
    printf("expected=[[-1,97],[-1,22],[-1,95],[-1,9],[-1,22],[-1,9],[-1,88],[-1,9],[-1,9],[-1,9],[-1,22],[-1,9],[-1,22],[-1,22],[-1,22],[-1,22],[0,0]]\n");
    /* successes keep errno untouched too */
    int s = socket(AF_INET, SOCK_STREAM, 0);
    errno = 4242;
    int d = dup(s);
    MUST(errno == 4242);
    MUST(close(d) == 0 && errno == 4242);
    MUST(close(s) == 0 && errno == 4242);
    return 0;
}
