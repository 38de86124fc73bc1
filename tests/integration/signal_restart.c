// The dump signal arriving inside an interposed call: a thread blocked in accept(),
// then in read(), is hit by dump signals again and again; with no handler of the
// host's, the shim's handler uses SA_RESTART, so both calls are restarted, never fail
// with EINTR, and return the connection and the data. With a handler of the host's,
// SA_RESTART semantics are exactly the host's: the same program run without the shim
// (noshim_ lines) and with it (shim_ lines) sees the same results, for the dump
// signal and for another signal, with and without SA_RESTART.
// RUN: env -u LD_PRELOAD %t noshim_ ; %t shim_
// EXPECT: v("shim_none_eintr") == 0 and v("shim_none_ok") == 1 and v("noshim_none_ok") == -1
// EXPECT: all(v("shim_" + k) == v("noshim_" + k) for k in ["usr2_restart_eintr", "usr2_restart_ok", "usr2_norestart_eintr", "usr1_restart_eintr", "usr1_restart_ok", "usr1_norestart_eintr"])
// EXPECT: v("shim_usr2_restart_eintr") == 0 and v("shim_usr2_norestart_eintr") == 1 and v("shim_usr1_norestart_eintr") == 1
// EXPECT: len([x for x in mine if x["reason"] == "signal"]) >= 1 and r["reason"] == "exit"
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "common.h"

static int listener, port;
static atomic_int phase; /* 1: blocked in accept, 2: blocked in read, 3: done */
static atomic_int eintr, ok;

static void host_handler(int sig)
{
    (void)sig;
}

static void *server(void *arg)
{
    (void)arg;
    atomic_store(&phase, 1);
    int c = accept(listener, NULL, NULL);
    if (c < 0) {
        if (errno == EINTR)
            atomic_store(&eintr, 1);
        atomic_store(&phase, 3);
        return NULL;
    }
    atomic_store(&phase, 2);
    char buf[4];
    ssize_t n = read(c, buf, sizeof(buf));
    if (n < 0 && errno == EINTR)
        atomic_store(&eintr, 1);
    if (n == 4 && !memcmp(buf, "ping", 4))
        atomic_store(&ok, 1);
    close(c);
    atomic_store(&phase, 3);
    return NULL;
}

/* Signal the server thread while it is blocked in each phase, then let it go on. */
static void run(const char *prefix, const char *name, int sig, int handler_flags, bool install)
{
    if (install) {
        struct sigaction sa;
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = host_handler;
        sa.sa_flags = handler_flags;
        sigemptyset(&sa.sa_mask);
        MUST(sigaction(sig, &sa, NULL) == 0);
    }
    atomic_store(&phase, 0);
    atomic_store(&eintr, 0);
    atomic_store(&ok, 0);
    pthread_t t;
    MUST(pthread_create(&t, NULL, server, NULL) == 0);
    while (atomic_load(&phase) != 1)
        sched_yield();
    for (int i = 0; i < 20 && atomic_load(&phase) == 1; i++) {
        sleep_ms(5);
        pthread_kill(t, sig);
    }
    int c = -1;
    if (atomic_load(&phase) == 1) {
        struct sockaddr_in a = local_addr(port);
        c = socket(AF_INET, SOCK_STREAM, 0);
        MUST(connect(c, (struct sockaddr *)&a, sizeof(a)) == 0);
        while (atomic_load(&phase) == 1)
            sched_yield();
        for (int i = 0; i < 20 && atomic_load(&phase) == 2; i++) {
            sleep_ms(5);
            pthread_kill(t, sig);
        }
        if (atomic_load(&phase) == 2)
            MUST(write(c, "ping", 4) == 4);
    }
    pthread_join(t, NULL);
    if (c >= 0)
        close(c);
    printf("%s%s_eintr=%d %s%s_ok=%d\n", prefix, name, atomic_load(&eintr), prefix, name, atomic_load(&ok));
    fflush(stdout);
}

int main(int argc, char **argv)
{
    MUST(argc == 2);
    const char *p = argv[1];
    listener = listen_local(&port);
    if (getenv("LD_PRELOAD")) {
        run(p, "none", SIGUSR2, 0, false); /* the shim's own handler only */
    } else {
        printf("%snone_eintr=-1 %snone_ok=-1\n", p, p); /* without the shim, SIGUSR2 would kill us */
    }
    run(p, "usr2_restart", SIGUSR2, SA_RESTART, true);
    run(p, "usr2_norestart", SIGUSR2, 0, true);
    run(p, "usr1_restart", SIGUSR1, SA_RESTART, true);
    run(p, "usr1_norestart", SIGUSR1, 0, true);
    sleep_ms(300); /* the report thread writes the signal reports */
    return 0;
}
