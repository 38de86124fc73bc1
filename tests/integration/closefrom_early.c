// A program that sweeps its descriptors with closefrom(3) first thing, before any
// socket, then uses sockets heavily (connections carrying data both ways, sockets
// made from code without unwind info so libunwind validates addresses through its
// pipe, dumps on signal and through the API while they work): before its first
// socket the process holds no fd of the shim's, so the sweep has nothing of it to
// close; libunwind's pipe comes with the first socket (at the top of the fd space),
// the reports are written, and not one byte of the program's sockets is read or
// written by the shim: every byte sent arrives, in order, and nothing else ever does.
// TIMEOUT: 60
// EXPECT: v("pipes_before") == 0 and v("pipes_after") == 2
// EXPECT: v("rounds") == 200 and v("bad_bytes") == 0 and v("stray") == 0 and v("validated") >= 1
// EXPECT: len([x for x in mine if x["reason"] == "signal"]) >= 1 and len([x for x in mine if x["reason"] == "api"]) == 20
// EXPECT: truth() == j("truth") and any(fn(s) == "call_socket_without_cfi" for s in r["sockets"])
#include <dirent.h>
#include <signal.h>
#include <sys/ioctl.h>

#include "common.h"

/* A function with a frame pointer and no DWARF unwind info (see libunwind_pipe.c). */
__asm__(".text\n"
        ".globl call_socket_without_cfi\n"
        ".type call_socket_without_cfi, @function\n"
        "call_socket_without_cfi:\n"
        "  pushq %rbp\n"
        "  movq %rsp, %rbp\n"
        "  movl $2, %edi\n"
        "  movl $1, %esi\n" /* SOCK_STREAM */
        "  xorl %edx, %edx\n"
        "  call socket@PLT\n"
        "  popq %rbp\n"
        "  ret\n"
        ".size call_socket_without_cfi, .-call_socket_without_cfi\n");
int call_socket_without_cfi(void);

static int bad_bytes, stray;

/* Send n bytes of a pattern from a to b and check they arrive exactly. */
static void exchange(int a, int b, int n, unsigned char seed)
{
    unsigned char buf[512], got[512];
    for (int i = 0; i < n; i++)
        buf[i] = (unsigned char)(seed + i * 7);
    int pending = -1;
    MUST(ioctl(b, FIONREAD, &pending) == 0);
    stray += pending != 0;
    MUST(send(a, buf, (size_t)n, 0) == n);
    int have = 0;
    while (have < n) {
        ssize_t r = recv(b, got + have, (size_t)(n - have), 0);
        MUST(r > 0);
        have += (int)r;
    }
    bad_bytes += memcmp(buf, got, (size_t)n) != 0;
    MUST(ioctl(b, FIONREAD, &pending) == 0);
    stray += pending != 0;
}

int main(void)
{
    int bytes;
    closefrom(3); /* before any socket of ours */
    int pipes_before = shim_pipes(&bytes);
    int port, l = listen_local(&port);
    struct sockaddr_in sa = local_addr(port);
    int conn[8][2];
    int rounds = 0;
    for (int round = 0; round < 200; round++, rounds++) {
        int k = round % 8;
        if (round >= 8) {
            close(conn[k][0]);
            close(conn[k][1]);
        }
        conn[k][0] = call_socket_without_cfi(); /* libunwind validates through its pipe */
        MUST(conn[k][0] >= 0);
        MUST(connect(conn[k][0], (struct sockaddr *)&sa, sizeof(sa)) == 0);
        conn[k][1] = accept(l, NULL, NULL);
        MUST(conn[k][1] >= 0);
        for (int j = 0; j < 8 && j <= round; j++) {
            exchange(conn[j][0], conn[j][1], 1 + (round * 13 + j) % 500, (unsigned char)round);
            exchange(conn[j][1], conn[j][0], 1 + (round * 17 + j) % 500, (unsigned char)j);
        }
        if (round % 10 == 0) {
            MUST(sockleak_report && sockleak_report() == 0);
            kill(getpid(), SIGUSR2);
        }
    }
    sleep_ms(300); /* the signal reports are written */
    for (int j = 0; j < 8; j++) {
        exchange(conn[j][0], conn[j][1], 100, 1);
        exchange(conn[j][1], conn[j][0], 100, 2);
    }
    int pipes_after = shim_pipes(&bytes);
    printf("pipes_before=%d pipes_after=%d rounds=%d bad_bytes=%d stray=%d validated=%d\n", pipes_before, pipes_after,
           rounds, bad_bytes, stray, bytes);
    print_truth();
    return 0;
}
