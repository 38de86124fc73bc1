/*
 * buf.c - a growable byte buffer for building reports.
 *
 * Reports are built whole in memory and written with as few write() calls as possible,
 * so two processes appending to one log file never interleave inside a report. The
 * buffer uses malloc and is only used outside wrappers (report thread, exit, API). An
 * allocation failure does not abort: the buffer stops growing, marks itself failed,
 * and the report says it was truncated.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "base.h"

/* ---- big arrays ----
 * Snapshots, scan sets, a report's sockets and its text grow with the number of
 * sockets: megabytes at 10k. From malloc, glibc would keep that memory after free (its
 * mmap threshold rises to the largest block freed), and a host that ran one report
 * would carry it forever. So blocks from BIG_MIN up are mmap'd and unmapped when
 * freed; smaller ones come from malloc. A header says which. */

#define BIG_MIN (64 * 1024)

struct big_hdr {
    size_t mapped; /* length of the mapping, header included; 0 = from malloc */
    size_t pad;    /* keeps the block 16-byte aligned */
};

static struct big_hdr *big_hdr(void *p)
{
    return (struct big_hdr *)p - 1;
}

void *sl_big_alloc(size_t n)
{
    if (n > SIZE_MAX / 2)
        return NULL;
    size_t total = n + sizeof(struct big_hdr);
    struct big_hdr *h;
    if (total < BIG_MIN) {
        h = calloc(1, total);
        if (!h)
            return NULL;
        h->mapped = 0;
    } else {
        void *m = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m == MAP_FAILED)
            return NULL;
        h = m;
        h->mapped = total;
    }
    return h + 1;
}

void *sl_big_calloc(size_t n, size_t size)
{
    if (size && n > SIZE_MAX / 2 / size)
        return NULL;
    return sl_big_alloc(n * size); /* both kinds come zeroed */
}

void *sl_big_realloc(void *p, size_t n)
{
    if (!p)
        return sl_big_alloc(n);
    if (n > SIZE_MAX / 2)
        return NULL;
    struct big_hdr *h = big_hdr(p);
    size_t total = n + sizeof(struct big_hdr);
    if (h->mapped) {
        void *m = mremap(h, h->mapped, total < BIG_MIN ? BIG_MIN : total, MREMAP_MAYMOVE);
        if (m == MAP_FAILED)
            return NULL;
        h = m;
        h->mapped = total < BIG_MIN ? BIG_MIN : total;
        return h + 1;
    }
    if (total < BIG_MIN) {
        h = realloc(h, total);
        return h ? h + 1 : NULL;
    }
    void *q = sl_big_alloc(n); /* outgrows malloc: move to a mapping */
    if (!q)
        return NULL;
    memcpy(q, p, malloc_usable_size(h) - sizeof(struct big_hdr));
    free(h);
    return q;
}

void sl_big_free(void *p)
{
    if (!p)
        return;
    struct big_hdr *h = big_hdr(p);
    if (h->mapped)
        munmap(h, h->mapped);
    else
        free(h);
}

void sl_buf_init(struct sl_buf *b)
{
    memset(b, 0, sizeof(*b));
}

void sl_buf_free(struct sl_buf *b)
{
    sl_big_free(b->data);
    memset(b, 0, sizeof(*b));
}

static bool reserve(struct sl_buf *b, size_t extra)
{
    if (b->failed)
        return false;
    if (b->len + extra + 1 <= b->cap)
        return true;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + extra + 1)
        cap *= 2;
    char *p = sl_big_realloc(b->data, cap);
    if (!p) {
        b->failed = true;
        return false;
    }
    b->data = p;
    b->cap = cap;
    return true;
}

void sl_buf_put(struct sl_buf *b, const void *p, size_t n)
{
    if (!reserve(b, n))
        return;
    memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void sl_buf_puts(struct sl_buf *b, const char *s)
{
    sl_buf_put(b, s, strlen(s));
}

void sl_buf_putc(struct sl_buf *b, char c)
{
    sl_buf_put(b, &c, 1);
}

void sl_buf_printf(struct sl_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char small[256];
    int n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof(small)) {
        sl_buf_put(b, small, (size_t)n);
        return;
    }
    if (!reserve(b, (size_t)n))
        return;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if invalid. */
static int utf8_len(const unsigned char *s)
{
    unsigned c = s[0];
    if (c < 0x80)
        return 1;
    int n;
    unsigned min;
    if ((c & 0xe0) == 0xc0)
        n = 2, min = 0x80, c &= 0x1f;
    else if ((c & 0xf0) == 0xe0)
        n = 3, min = 0x800, c &= 0x0f;
    else if ((c & 0xf8) == 0xf0)
        n = 4, min = 0x10000, c &= 0x07;
    else
        return 0;
    for (int i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        c = (c << 6) | (s[i] & 0x3f);
    }
    if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
        return 0;
    return n;
}

void sl_buf_json_str(struct sl_buf *b, const char *s)
{
    if (!s) {
        sl_buf_puts(b, "null");
        return;
    }
    sl_buf_putc(b, '"');
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        unsigned char c = *p;
        const char *esc = NULL;
        switch (c) {
        case '"': esc = "\\\""; break;
        case '\\': esc = "\\\\"; break;
        case '\n': esc = "\\n"; break;
        case '\r': esc = "\\r"; break;
        case '\t': esc = "\\t"; break;
        case '\b': esc = "\\b"; break;
        case '\f': esc = "\\f"; break;
        default: break;
        }
        if (esc) {
            sl_buf_puts(b, esc);
            p++;
        } else if (c < 0x20 || c == 0x7f) {
            sl_buf_printf(b, "\\u%04x", c);
            p++;
        } else {
            int n = utf8_len(p);
            if (n == 0) {
                sl_buf_puts(b, "\\ufffd");
                p++;
            } else {
                sl_buf_put(b, p, (size_t)n);
                p += n;
            }
        }
    }
    sl_buf_putc(b, '"');
}

void sl_buf_duration(struct sl_buf *b, int64_t ns)
{
    if (ns < 0)
        ns = 0;
    int64_t ms = ns / SL_MS;
    if (ms < 1000)
        sl_buf_printf(b, "%lldms", (long long)ms);
    else if (ms < 60 * 1000)
        sl_buf_printf(b, "%lld.%llds", (long long)(ms / 1000), (long long)(ms % 1000 / 100));
    else if (ms < 3600 * 1000LL)
        sl_buf_printf(b, "%lldm%02llds", (long long)(ms / 60000), (long long)(ms / 1000 % 60));
    else
        sl_buf_printf(b, "%lldh%02lldm", (long long)(ms / 3600000), (long long)(ms / 60000 % 60));
}
