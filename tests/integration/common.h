/*
 * common.h - helpers for the integration test programs.
 *
 * Each program does real socket work under the shim and exits normally, so the shim
 * writes its exit report; the runner (tests/run_integration.py) checks the report
 * against the program's EXPECT/CHECK lines. A program checks its own view of the
 * world with MUST(): on failure it prints the line and exits 90, which the runner
 * reports as a wrong exit status.
 */
#ifndef SOCKLEAK_IT_COMMON_H
#define SOCKLEAK_IT_COMMON_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "sockleak.h"

#define MUST(cond)                                                                                         \
    do {                                                                                                   \
        if (!(cond)) {                                                                                     \
            fprintf(stderr, "%s:%d: MUST(%s) failed (errno %d: %s)\n", __FILE__, __LINE__, #cond, errno,   \
                    strerror(errno));                                                                      \
            fflush(NULL);                                                                                  \
            _exit(90);                                                                                     \
        }                                                                                                  \
    } while (0)

#define NOINLINE __attribute__((noinline))

/* A socket the shim cannot see being made: the system call instruction itself, as Go's
 * runtime or io_uring would (not libc's socket(), nor its syscall(), which the shim
 * interposes). x86-64. */
static inline int invisible_socket(int domain, int type, int protocol)
{
    long r;
    __asm__ volatile("syscall" : "=a"(r) : "a"(41 /* SYS_socket */), "D"((long)domain), "S"((long)type),
                     "d"((long)protocol) : "rcx", "r11", "memory");
    if (r < 0) {
        errno = (int)-r;
        return -1;
    }
    return (int)r;
}

/* A listening TCP socket on 127.0.0.1, ephemeral port. */
static inline int listen_local(int *port)
{
    int l = socket(AF_INET, SOCK_STREAM, 0);
    MUST(l >= 0);
    int one = 1;
    setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    MUST(bind(l, (struct sockaddr *)&a, sizeof(a)) == 0);
    MUST(listen(l, 128) == 0);
    socklen_t len = sizeof(a);
    MUST(getsockname(l, (struct sockaddr *)&a, &len) == 0);
    *port = ntohs(a.sin_port);
    return l;
}

static inline struct sockaddr_in local_addr(int port)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    return a;
}

static inline int tcp_state(int fd)
{
    struct tcp_info ti;
    socklen_t len = sizeof(ti);
    if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) != 0)
        return -1;
    return ti.tcpi_state;
}

/* Wait (up to 5 s) until fd reaches a TCP state. */
static inline void wait_state(int fd, int state)
{
    for (int i = 0; i < 500 && tcp_state(fd) != state; i++)
        usleep(10000);
    MUST(tcp_state(fd) == state);
}

static inline void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static inline const char *test_dir(void)
{
    const char *d = getenv("SOCKLEAK_TEST_DIR");
    return d ? d : "/tmp";
}


/* Print the ground truth for the runner: name=[[fd, inode], ...] of every socket open
 * in this process, read from the kernel (/proc/self/fd), sorted by fd; print_truth()
 * names it truth. */
#include <dirent.h>
struct fd_ino {
    int fd;
    unsigned long ino;
};
static inline int cmp_fd_ino(const void *a, const void *b)
{
    return ((const struct fd_ino *)a)->fd - ((const struct fd_ino *)b)->fd;
}
/* Is fd the shim's control socket (abstract "@sockleak.PID")? It is in the program's
 * table only when the shim's thread shares it (own_fd_table=0, sanitizer runs). */
static inline int shim_control_socket(int fd)
{
    struct sockaddr_un a;
    socklen_t len = sizeof(a);
    memset(&a, 0, sizeof(a));
    return getsockname(fd, (struct sockaddr *)&a, &len) == 0 && a.sun_family == AF_UNIX
        && len > offsetof(struct sockaddr_un, sun_path) + 9 && a.sun_path[0] == '\0'
        && !strncmp(a.sun_path + 1, "sockleak.", 9);
}

/* The program's own sockets, as the kernel lists them (the shim's left out). */
static inline void print_truth_named(const char *name)
{
    static struct fd_ino v[65536];
    int n = 0;
    DIR *d = opendir("/proc/self/fd");
    MUST(d != NULL);
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n < 65536) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        int fd = atoi(e->d_name);
        struct stat st;
        if (fd == dirfd(d) || fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode) || shim_control_socket(fd))
            continue;
        v[n].fd = fd;
        v[n++].ino = (unsigned long)st.st_ino;
    }
    closedir(d);
    qsort(v, (size_t)n, sizeof(v[0]), cmp_fd_ino);
    printf("%s=[", name);
    for (int i = 0; i < n; i++)
        printf("%s[%d,%lu]", i ? "," : "", v[i].fd, v[i].ino);
    printf("]\n");
}
static inline void print_truth(void)
{
    print_truth_named("truth");
}

#include <sys/ioctl.h>
/* The FIFOs at fd >= 100 (where the shim keeps its own: libunwind's pipe), and in
 * *bytes the most bytes waiting in one of them. */
static inline int shim_pipes(int *bytes)
{
    DIR *d = opendir("/proc/self/fd");
    MUST(d != NULL);
    int n = 0;
    *bytes = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        int fd = atoi(e->d_name);
        struct stat st;
        if (fd < 100 || fd == dirfd(d) || fstat(fd, &st) != 0 || !S_ISFIFO(st.st_mode))
            continue;
        int avail = 0;
        if (ioctl(fd, FIONREAD, &avail) == 0 && avail > *bytes)
            *bytes = avail;
        n++;
    }
    closedir(d);
    return n;
}

/* The process's address space (VmSize in /proc/self/status), in kB; -1 if unknown. */
static inline long vm_size_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    while (f && fgets(line, sizeof(line), f))
        if (sscanf(line, "VmSize: %ld kB", &kb) == 1)
            break;
    if (f)
        fclose(f);
    return kb;
}

#endif
