/* inlined: a socket opened in connect_backend(), which is inlined (always_inline, even
 * at -O0) into check_backend(). Run stripped, its report has offsets only; symbolize
 * with the debug file must give both functions, the inlined one marked, as the shim
 * gives them for a program with its debug info. */
#include "prog.h"

static inline __attribute__((always_inline)) int connect_backend(void)
{
    return socket(AF_INET, SOCK_STREAM, 0); /* the socket's line */
}

static NOINLINE int check_backend(void)
{
    int s = connect_backend(); /* the call's line */
    return s;
}

int main(void)
{
    MUST(check_backend() >= 0);
    return 0;
}
