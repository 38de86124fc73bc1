/*
 * intern.c - a table of immutable entries found by hash, for the capture path.
 *
 * What the language-frame modules keep (source locations, CPython code locations, Java
 * methods) is looked up inside socket() wrappers, from any thread, often, and added
 * rarely. So lookups take no lock: open addressing over atomic pointers, entries
 * published with release stores and never changed or freed afterwards. Adds take the
 * table's mutex, look again, and copy the entry into an mmap'd arena (no malloc). Each
 * entry starts with its hash and gets a dense id (1, 2, ...), so a table can also be
 * walked in the order it was filled. A full table (or no memory) adds nothing: the
 * caller goes without.
 */
#define _GNU_SOURCE
#include <string.h>

#include "core.h"

#define ARENA (256 * 1024)

/* every table in use, for the fork handlers (sl_itab_lock_all) */
static struct sl_itab *_Atomic tables[8];
static _Atomic int ntables;

/* lock held */
static bool ready(struct sl_itab *t)
{
    if (t->slot)
        return true;
    t->slot = sl_map_zeroed(((size_t)t->max * 4 / 3 + 1) * 2 * sizeof(*t->slot));
    t->by_id = sl_map_zeroed(((size_t)t->max + 1) * sizeof(*t->by_id));
    if (!t->slot || !t->by_id)
        return false;
    size_t n = 1;
    while (n < (size_t)t->max * 4 / 3 + 1)
        n <<= 1;
    t->mask = (uint32_t)(n - 1);
    int k = atomic_fetch_add(&ntables, 1);
    if (k < (int)SL_ARRAY_LEN(tables))
        atomic_store(&tables[k], t);
    return true;
}

void *sl_itab_add(struct sl_itab *t, uint64_t hash, bool (*eq)(const void *entry, const void *key), const void *key,
                  size_t size, void (*fill)(void *entry, const void *key))
{
    void *found = NULL;
    pthread_mutex_lock(&t->lock);
    if (!ready(t))
        goto out;
    atomic_store_explicit(&t->published, t->slot, memory_order_release);
    uint32_t i = (uint32_t)hash & t->mask;
    for (uint32_t probe = 0; probe <= t->mask; probe++, i = (i + 1) & t->mask) {
        struct sl_ientry *e = atomic_load_explicit(&t->slot[i], memory_order_relaxed);
        if (!e)
            break;
        if (e->hash == hash && eq(e, key)) {
            found = e;
            goto out;
        }
    }
    uint32_t n = atomic_load_explicit(&t->n, memory_order_relaxed);
    if (n >= t->max) {
        t->full++;
        goto out;
    }
    size = (size + 15) & ~(size_t)15;
    if (size > ARENA)
        goto out;
    if ((size_t)(t->end - t->cur) < size) {
        char *p = sl_map_zeroed(ARENA);
        if (!p)
            goto out;
        t->cur = p;
        t->end = p + ARENA;
    }
    struct sl_ientry *e = (struct sl_ientry *)t->cur;
    t->cur += size;
    e->hash = hash;
    e->id = n + 1;
    fill(e, key);
    t->by_id[e->id] = e;
    atomic_store_explicit(&t->n, n + 1, memory_order_release);
    atomic_store_explicit(&t->slot[i], e, memory_order_release);
    found = e;
out:
    pthread_mutex_unlock(&t->lock);
    return found;
}

void *sl_itab_get(struct sl_itab *t, uint32_t id)
{
    if (id == 0 || id > atomic_load_explicit(&t->n, memory_order_acquire))
        return NULL;
    return t->by_id[id];
}

uint32_t sl_itab_count(struct sl_itab *t)
{
    return atomic_load_explicit(&t->n, memory_order_acquire);
}

/* fork: the tables locked before, and exactly those unlocked after (a table that
 * comes into use in between was not locked) */
static int nlocked;

void sl_itab_lock_all(void)
{
    int n = atomic_load(&ntables);
    n = n < (int)SL_ARRAY_LEN(tables) ? n : (int)SL_ARRAY_LEN(tables);
    for (int k = 0; k < n; k++)
        if (atomic_load(&tables[k]))
            pthread_mutex_lock(&atomic_load(&tables[k])->lock);
        else
            n = k; /* being registered: not ours to lock */
    nlocked = n;
}

void sl_itab_unlock_all(void)
{
    for (int k = 0; k < nlocked; k++)
        pthread_mutex_unlock(&atomic_load(&tables[k])->lock);
    nlocked = 0;
}
