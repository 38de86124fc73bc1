/*
 * fuzz_options.c - libFuzzer target for the SOCKLEAK_OPTIONS parser (src/base/options.c).
 *
 * Built with clang -fsanitize=fuzzer,address,undefined against options.c alone, run
 * by `make check-fuzz` for a bounded time from the seed corpus in tests/fuzz/corpus/.
 * Any input must parse without a crash, a sanitizer report or a hang, and leave
 * options a program can run with: every value within its documented range, the log
 * path a terminated string, the dump signal catchable; and each problem must be one
 * printable line of bounded length. The duration and signal helpers get the raw
 * input too.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"

static int warnings;

static void check_warning(const char *msg)
{
    size_t n = strlen(msg);
    if (n == 0 || n > 600)
        abort(); /* a problem is one line of bounded length */
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)msg[i] < 0x20 || (unsigned char)msg[i] >= 0x7f)
            abort(); /* made printable: no newline, no control byte, no raw non-ASCII */
    warnings++;
}

static void check_options(const struct sl_options *o)
{
    if (memchr(o->log_path, '\0', sizeof(o->log_path)) == NULL || !o->log_path[0])
        abort();
    if (o->format != SL_FMT_TEXT && o->format != SL_FMT_JSON)
        abort();
    if (o->report_at_exit != 0 && o->report_at_exit != 1)
        abort();
    if (o->dump_signal < 0 || o->dump_signal >= NSIG || o->dump_signal == SIGKILL || o->dump_signal == SIGSTOP
        || o->dump_signal == SIGSEGV)
        abort();
    const int64_t max_ns = 30LL * 86400 * SL_SEC;
    if (o->close_wait_after < 0 || o->close_wait_after > max_ns || o->scan_interval < 0 || o->scan_interval > max_ns)
        abort();
    if (o->stack_depth < 0 || o->stack_depth > SL_MAX_DEPTH || o->verbose < 0 || o->verbose > 2)
        abort();
    if (o->max_tracked < 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    struct sl_options o;
    memset(&o, 0xa5, sizeof(o)); /* the parser must set every field itself */
    warnings = 0;
    int problems = sl_options_parse(&o, text, check_warning);
    if (problems < 0 || warnings > 9 || (problems > 0 && warnings == 0) || (problems <= 8 && warnings != problems))
        abort(); /* one line per problem, at most 8, then one summary line */
    check_options(&o);
    int64_t ns;
    if (sl_parse_duration(text, &ns) == 0 && (ns < 0 || ns > 30LL * 86400 * SL_SEC))
        abort();
    int sig;
    if (sl_parse_signal(text, &sig) == 0 && (sig < 0 || sig >= NSIG || sig == SIGKILL || sig == SIGSTOP))
        abort();
    sl_signal_name(sig);
    free(text);
    return 0;
}
