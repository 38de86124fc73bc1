// libunwind's private pipe (Debian libunwind 1.6.2 opens it on the first unwind, to
// validate addresses, and later reads and writes it). The shim moves it to the top
// of the fd space and protects it, so a host that sweeps its fds with closefrom(3)
// and reuses the numbers for its own sockets never has a byte read from or written to
// them. Validation is forced by calling socket() from a function without unwind info
// (libunwind then guesses the frame and validates every read).
// EXPECT: v("validated") >= 1
// EXPECT: v("pending_a") == 0 and v("pending_b") == 0 and v("echo_ok") == 1
// EXPECT: v("pipes_high") == 2
// EXPECT: sock(v("a")) is not None and sock(v("b")) is not None
// EXPECT: any(fn(s) == "call_socket_without_cfi" for s in r["sockets"])
#include <dirent.h>
#include <sys/ioctl.h>

#include "common.h"

/* A function with a frame pointer and no DWARF unwind info (no .cfi directives). */
__asm__(".text\n"
        ".globl call_socket_without_cfi\n"
        ".type call_socket_without_cfi, @function\n"
        "call_socket_without_cfi:\n"
        "  pushq %rbp\n"
        "  movq %rsp, %rbp\n"
        "  movl $2, %edi\n"  /* AF_INET */
        "  movl $2, %esi\n"  /* SOCK_DGRAM */
        "  xorl %edx, %edx\n"
        "  call socket@PLT\n"
        "  popq %rbp\n"
        "  ret\n"
        ".size call_socket_without_cfi, .-call_socket_without_cfi\n");
int call_socket_without_cfi(void);

int main(void)
{
    int first = socket(AF_INET, SOCK_STREAM, 0); /* the shim has unwound at least once */
    MUST(first >= 0);
    closefrom(3); /* a daemon sweeping its descriptors */
    int port, l = listen_local(&port);
    struct sockaddr_in sa = local_addr(port);
    int a = socket(AF_INET, SOCK_STREAM, 0);
    MUST(connect(a, (struct sockaddr *)&sa, sizeof(sa)) == 0);
    int b = accept(l, NULL, NULL);
    MUST(b >= 0);
    for (int i = 0; i < 20; i++)
        MUST(call_socket_without_cfi() >= 0);
    int pa = -1, pb = -1;
    MUST(ioctl(a, FIONREAD, &pa) == 0 && ioctl(b, FIONREAD, &pb) == 0);
    char c = 0;
    MUST(send(a, "x", 1, 0) == 1);
    int echo_ok = recv(b, &c, 1, 0) == 1 && c == 'x';
    int bytes;
    int pipes = shim_pipes(&bytes);
    printf("a=%d b=%d pending_a=%d pending_b=%d echo_ok=%d pipes_high=%d validated=%d\n", a, b, pa, pb, echo_ok, pipes,
           bytes);
    return 0;
}
