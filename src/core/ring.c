/*
 * ring.c - event rings: closes of reported leaks, double closes.
 *
 * Written from wrappers (no malloc, no lock): a writer takes a ticket with an atomic
 * add, claims the ticket's slot by marking its seq busy (a writer that finds the slot
 * busy, lapped by another SL_RING tickets on, drops its event), stores the event, and
 * publishes the ticket in seq. The reporter reads the tickets it has not consumed, as
 * a seqlock: seq, the event, seq again; a slot overwritten or still being written is
 * counted as lost. Events are stored as atomic words, so no access is a data race
 * (ThreadSanitizer checks).
 */
#define _GNU_SOURCE
#include <string.h>

#include "core.h"

#define BUSY (1ull << 63)
#define WORDS(size) (((size) + 7) / 8)

void sl_ring_push(struct sl_ring *ring, const void *ev, size_t size)
{
    uint64_t t = atomic_fetch_add_explicit(&ring->head, 1, memory_order_relaxed);
    struct sl_ring_slot *slot = &ring->slot[t % SL_RING];
    uint64_t cur = atomic_load_explicit(&slot->seq, memory_order_relaxed);
    if ((cur & BUSY) || !atomic_compare_exchange_strong(&slot->seq, &cur, (t + 1) | BUSY))
        return; /* another writer is in this slot: the reporter counts the ticket lost */
    uint64_t buf[4] = { 0, 0, 0, 0 };
    size_t n = WORDS(size) < 4 ? WORDS(size) : 4;
    memcpy(buf, ev, size < sizeof(buf) ? size : sizeof(buf));
    for (size_t i = 0; i < n; i++)
        atomic_store_explicit(&slot->w[i], buf[i], memory_order_relaxed);
    atomic_store_explicit(&slot->seq, t + 1, memory_order_release);
}

size_t sl_ring_take(struct sl_ring *ring, void *out, size_t size, size_t max, long *lost)
{
    uint64_t end = atomic_load_explicit(&ring->head, memory_order_acquire);
    size_t n = 0, words = WORDS(size) < 4 ? WORDS(size) : 4;
    if (end - ring->taken > SL_RING) {
        *lost += (long)(end - ring->taken - SL_RING);
        ring->taken = end - SL_RING;
    }
    for (; ring->taken < end; ring->taken++) {
        struct sl_ring_slot *slot = &ring->slot[ring->taken % SL_RING];
        uint64_t s1 = atomic_load_explicit(&slot->seq, memory_order_acquire);
        uint64_t buf[4] = { 0, 0, 0, 0 };
        for (size_t i = 0; i < words; i++)
            buf[i] = atomic_load_explicit(&slot->w[i], memory_order_relaxed);
        atomic_thread_fence(memory_order_acquire);
        uint64_t s2 = atomic_load_explicit(&slot->seq, memory_order_relaxed);
        if (s1 != ring->taken + 1 || s2 != s1 || n >= max) {
            (*lost)++; /* overwritten, still being written, or no room */
            continue;
        }
        memcpy((char *)out + n * size, buf, size);
        n++;
    }
    return n;
}
