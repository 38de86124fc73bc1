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
        /* the listener goes across the exec: closing it and binding the port again
         * would race with any other process on the machine picking that port */
        MUST(fcntl(l, F_SETFD, 0) == 0);
        char path[512], opts[2048], p[32];
        snprintf(path, sizeof(path), "%s/supp.txt", argv[1]);
        FILE *f = fopen(path, "w");
        MUST(f != NULL);
        fprintf(f, "# known sockets\nfunction:pool_*\nlocal:127.0.0.1:%d\nbogus line\n", port);
        fclose(f);
        snprintf(opts, sizeof(opts), "%s:suppressions=%s", getenv("SOCKLEAK_OPTIONS"), path);
        snprintf(p, sizeof(p), "%d:%d", port, l);
        setenv("SOCKLEAK_OPTIONS", opts, 1);
        setenv("SUPP_PORT", p, 1);
        fflush(stdout);
        execv("/proc/self/exe", argv);
        return 1;
    }
    /* a listener (suppressed by local), two pool sockets (suppressed by function), one
     * leak (reported) */
    int port, l;
    MUST(sscanf(getenv("SUPP_PORT"), "%d:%d", &port, &l) == 2);
    pool_connect(port);
    pool_connect(port);
    int leaky = socket(AF_INET, SOCK_DGRAM, 0);
    for (int i = 0; i < 2; i++)
        close(accept(l, NULL, NULL));
    printf("leaky=%d port=%d\n", leaky, port);
    return 0;
}
