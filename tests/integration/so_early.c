/*
 * so_early.c - a library whose constructor opens sockets before the shim's constructor
 * has run, and whose destructor closes one after the shim's destructor ran. Used by
 * early_late.c through LD_PRELOAD order.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

int early_fd = -1, early_closed_late = -1;
static int late_fd = -1;

__attribute__((noinline)) static int open_in_constructor(void)
{
    return socket(AF_INET, SOCK_STREAM, 0);
}

__attribute__((constructor)) static void early(void)
{
    early_fd = open_in_constructor();
    late_fd = socket(AF_INET, SOCK_DGRAM, 0);
    char *order = getenv("EARLY_ORDER_FILE");
    if (order) {
        FILE *f = fopen(order, "a");
        if (f) {
            fprintf(f, "libearly constructor\n");
            fclose(f);
        }
    }
}

__attribute__((destructor)) static void late(void)
{
    /* closed during exit, after the shim's destructor: must not be reported */
    early_closed_late = close(late_fd);
}
