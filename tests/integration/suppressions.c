// Suppressions hide known long-lived sockets (a listener, a keep-alive pool) from the
// report, by function name glob, module, peer or local address; the report counts what
// was suppressed, by rule, and a bad line is named in one warning.
// RUN: %t %T
// EXPECT: fds() == {v("leaky")}
// EXPECT: r["summary"]["suppressed"] == 3 and r["summary"]["live"] == 1
// EXPECT: sorted((x["rule"], x["count"]) for x in r["suppressions"]) == [("function:pool_*", 2), ("local:127.0.0.1:%d" % v("port"), 1)]
// EXPECT: len([l for l in err.splitlines() if "suppressions: 'bogus line'" in l]) == 1
#include <fcntl.h>

#include "common.h"

static NOINLINE int pool_connect(int port)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = local_addr(port);
    MUST(connect(s, (struct sockaddr *)&a, sizeof(a)) == 0);
    return s;
}

int main(int argc, char **argv)
{
    MUST(argc == 2);
    if (!getenv("SUPP_PORT")) {
        /* pick a free port, name it in a suppression file, and re-run ourselves with
         * suppressions= pointing at it */
        int port, l = listen_local(&port);
        close(l);
        char path[512], opts[2048], p[16];
        snprintf(path, sizeof(path), "%s/supp.txt", argv[1]);
        FILE *f = fopen(path, "w");
        MUST(f != NULL);
        fprintf(f, "# known sockets\nfunction:pool_*\nlocal:127.0.0.1:%d\nbogus line\n", port);
        fclose(f);
        snprintf(opts, sizeof(opts), "%s:suppressions=%s", getenv("SOCKLEAK_OPTIONS"), path);
        snprintf(p, sizeof(p), "%d", port);
        setenv("SOCKLEAK_OPTIONS", opts, 1);
        setenv("SUPP_PORT", p, 1);
        fflush(stdout);
        execv("/proc/self/exe", argv);
        return 1;
    }
    /* a listener (suppressed by local), two pool sockets (suppressed by function), one
     * leak (reported) */
    int port = atoi(getenv("SUPP_PORT"));
    int l = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in a = local_addr(port);
    MUST(bind(l, (struct sockaddr *)&a, sizeof(a)) == 0 && listen(l, 8) == 0);
    pool_connect(port);
    pool_connect(port);
    int leaky = socket(AF_INET, SOCK_DGRAM, 0);
    for (int i = 0; i < 2; i++)
        close(accept(l, NULL, NULL));
    printf("leaky=%d port=%d\n", leaky, port);
    return 0;
}
