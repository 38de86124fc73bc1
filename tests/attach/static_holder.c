/* static_holder.c - a statically linked program holding a TCP listener and a socket
 * pair, for tests/attach/run.py: inspect describes it; attach says it cannot. Prints
 * "ready", then sleeps until killed (at most a minute). */
#include <arpa/inet.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

int main(void)
{
    int l = socket(AF_INET, SOCK_STREAM, 0), sv[2];
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(l, 8) != 0
        || socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
        return 3;
    printf("ready\n");
    fflush(stdout);
    sleep(60);
    return 0;
}
