/*
 * sockleak.h - the public API of libsockleak.so.
 *
 * sockleak finds code that leaks sockets. It is normally preloaded
 * (LD_PRELOAD=libsockleak.so, or `sockleak -- CMD`) and needs no code changes; this
 * header lets a program talk to it when it is there.
 *
 * Every function is declared weak: a program can call them unconditionally after
 * checking the symbol, and runs unchanged without the shim:
 *
 *     if (sockleak_report) sockleak_report();
 */
#ifndef SOCKLEAK_H
#define SOCKLEAK_H

#ifdef __cplusplus
extern "C" {
#endif

#define SOCKLEAK_API __attribute__((weak))

/* Write a report now (reason "api") to the configured log_path, in the configured
 * format. Returns 0, or a negative errno value if it could not be written. */
SOCKLEAK_API int sockleak_report(void);

/* Run one scan now, in the calling thread: what the background thread does every
 * scan_interval (TCP states, peers gone, sockets open but never seen created, fd
 * triggers). Returns 0, or a negative errno value. */
SOCKLEAK_API int sockleak_scan(void);

/* The shim's version, e.g. "0.1.0". */
SOCKLEAK_API const char *sockleak_version(void);

#ifdef __cplusplus
}
#endif

#endif
