/*
 * slab.c - a tiny allocator for the registry: size classes carved from mmap'd slabs.
 *
 * Records and uthash's bucket arrays come from here, never from malloc, so the
 * registry's verbs may run in a signal handler that interrupted malloc, and the
 * registry never takes malloc's locks while holding its own. Blocks up to 4 KiB come
 * from power-of-two classes with free lists; larger ones are mmap'd directly. Memory
 * carved for a class is never returned to the system (records are reused).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sys/mman.h>

#include "core.h"

#define SLAB_SIZE (64 * 1024)
#define MIN_CLASS 6  /* 64 bytes */
#define MAX_CLASS 12 /* 4096 bytes; larger requests are mmap'd directly */

struct free_node {
    struct free_node *next;
};
static pthread_mutex_t mem_lock = PTHREAD_MUTEX_INITIALIZER;
static struct free_node *free_class[MAX_CLASS + 1];
static char *slab_cur, *slab_end;

static int size_class(size_t sz)
{
    int c = MIN_CLASS;
    while (((size_t)1 << c) < sz)
        c++;
    return c;
}

/* Carve n bytes from the current slab; mem_lock held. */
static void *carve(size_t n)
{
    if (!slab_cur || (size_t)(slab_end - slab_cur) < n) {
        void *p = mmap(NULL, SLAB_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
            return NULL;
        slab_cur = p;
        slab_end = slab_cur + SLAB_SIZE;
    }
    void *r = slab_cur;
    slab_cur += n;
    return r;
}

void *sl_slab_carve(size_t n)
{
    pthread_mutex_lock(&mem_lock);
    void *r = carve((n + 15) & ~(size_t)15);
    pthread_mutex_unlock(&mem_lock);
    return r;
}

void *sl_slab_alloc(size_t sz)
{
    if (sz > ((size_t)1 << MAX_CLASS)) {
        void *p = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        return p == MAP_FAILED ? NULL : p;
    }
    int c = size_class(sz);
    pthread_mutex_lock(&mem_lock);
    void *r = free_class[c];
    if (r)
        free_class[c] = free_class[c]->next;
    else
        r = carve((size_t)1 << c);
    pthread_mutex_unlock(&mem_lock);
    return r;
}

void sl_slab_free(void *p, size_t sz)
{
    if (!p)
        return;
    if (sz > ((size_t)1 << MAX_CLASS)) {
        munmap(p, sz);
        return;
    }
    int c = size_class(sz);
    pthread_mutex_lock(&mem_lock);
    struct free_node *n = p;
    n->next = free_class[c];
    free_class[c] = n;
    pthread_mutex_unlock(&mem_lock);
}

void sl_slab_lock(void)
{
    pthread_mutex_lock(&mem_lock);
}

void sl_slab_unlock(void)
{
    pthread_mutex_unlock(&mem_lock);
}
