/* secure_prog.c - a program for tests/secure/run.py: run setuid root by nobody, it is
 * in secure-execution mode (AT_SECURE); it makes a socket, asks for a report through
 * the API and with the dump signal, and prints what it saw. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <sys/auxv.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "sockleak.h"

int main(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    int api = sockleak_report ? sockleak_report() : -1;
    kill(getpid(), SIGUSR2); /* the default dump signal: SOCKLEAK_OPTIONS cannot move it */
    struct timespec ts = { 0, 300 * 1000 * 1000 };
    nanosleep(&ts, NULL);
    printf("secure=%lu euid=%d uid=%d socket=%d api=%d shim=%d\n", getauxval(AT_SECURE), (int)geteuid(),
           (int)getuid(), s, api, sockleak_version != NULL);
    return 0;
}
