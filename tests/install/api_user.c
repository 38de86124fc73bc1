/*
 * api_user.c - a program that uses sockleak's public API as an installed package's user
 * would: built with `pkg-config --cflags sockleak` alone (weak: runs with or without
 * the shim) or with `--libs` too (the shim linked in). Opens a socket, marks it
 * long-lived, prints what the API says: "api=absent" or "api=present live=N ignore=R".
 */
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sockleak.h>

int main(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    if (!sockleak_stats) {
        printf("api=absent ignore=%d\n", SOCKLEAK_CALL(sockleak_ignore, s));
        return 0;
    }
    struct sockleak_stats st;
    int ignore = sockleak_ignore(s);
    if (sockleak_scan() != 0 || sockleak_stats(&st, sizeof(st)) != 0)
        return 1;
    printf("api=present version=%s live=%ld ignored=%ld ignore=%d\n", sockleak_version(), st.live, st.ignored, ignore);
    return 0;
}
