/*
 * jsstack.c - JavaScript frames, handed over by Node.
 *
 * In Node the code that asks for a socket is not on the stack when socket() runs:
 * net.connect() makes the fd on a later tick, a server's accept() runs in the event
 * loop. So Node's side of the shim (scripts/sockleak-node.js, loaded with --require)
 * captures the JavaScript stack where the socket is asked for, and once the handle
 * holds its fd, passes (fd, stack) through the Node-API addon the shim also is
 * (shim/lang.c). The fd is matched exactly: it is open, held by that handle, and its
 * record was made by this thread (Node's loop thread made it). The record's stack
 * becomes the JavaScript frames followed by the native frames it had.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "core.h"

/* One frame a line: "function<TAB>file<TAB>line<TAB>column". */
static int parse(const char *text, size_t len, struct sl_lframe *out, int max)
{
    int n = 0;
    const char *p = text, *end = text + len;
    while (p < end && n < max) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *e = nl ? nl : end;
        const char *f[4] = { p, NULL, NULL, NULL };
        int k = 1;
        for (const char *c = p; c < e && k < 4; c++)
            if (*c == '\t')
                f[k++] = c + 1;
        if (k == 4) {
            int line = atoi(f[2]), col = atoi(f[3]);
            uint32_t loc = sl_loc_intern(SL_LANG_JS, f[0], (size_t)(f[1] - 1 - f[0]), f[1], (size_t)(f[2] - 1 - f[1]),
                                         line, col);
            if (loc)
                out[n++] = (struct sl_lframe){ loc, 0 };
        }
        p = e + 1;
    }
    return n;
}

int sl_js_note(int fd, const char *text, size_t len)
{
    struct sl_rec_info i;
    struct sl_lframe lf[SL_MAX_DEPTH];
    if (sl_opt.stack_depth <= 0)
        return 0;
    sl_guard_enter();
    int r = 0;
    if (fd < 0 || !sl_reg_lookup(fd, &i)) {
        r = -ENOENT;
    } else if (i.tid != sl_gettid()) {
        r = -ESRCH; /* made by another thread: not the socket this code means */
    } else {
        const struct sl_stack *st = sl_stack_get(i.stack);
        int n = parse(text, len, lf, sl_opt.stack_depth);
        if (st && st->lang) {
            r = -EEXIST; /* named already (a socket bound, then connected) */
        } else if (n > 0) {
            uint32_t id = sl_stack_intern_lang(st ? st->ip : NULL, st ? st->depth : 0, SL_LANG_JS, lf, n);
            r = id && sl_fd_restack(fd, i.gen, id) ? 0 : -ENOMEM;
        }
    }
    sl_guard_leave();
    return r;
}
