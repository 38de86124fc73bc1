/*
 * locs.c - places in a program's source, interned: (language, function, file, line,
 * column) -> a small id.
 *
 * Python and JavaScript frames are stored in stacks as location ids. A location is
 * made from what the runtime said when the frame was captured (a code object may be
 * freed, a JavaScript stack is text), so reports need nothing of the runtime. The same
 * text gets the same id, whichever code object or call site it came from, so identical
 * stacks are stored once. Strings are cut to SL_LOC_TEXT bytes. Entries live for the
 * process (intern.c): no malloc, safe in wrappers.
 */
#define _GNU_SOURCE
#include <string.h>

#include "core.h"

static struct sl_itab locs = { .lock = PTHREAD_MUTEX_INITIALIZER, .max = 1u << 16 };

struct loc_entry {
    struct sl_ientry head;
    struct sl_loc loc;
    char text[]; /* function, NUL, file, NUL */
};

struct loc_key {
    int lang, line, column;
    const char *function, *file;
    size_t flen, filelen;
};

static bool same(const void *entry, const void *key)
{
    const struct loc_entry *e = entry;
    const struct loc_key *k = key;
    return e->loc.lang == k->lang && e->loc.line == k->line && e->loc.column == k->column
        && !strncmp(e->loc.function, k->function, k->flen) && e->loc.function[k->flen] == '\0'
        && !strncmp(e->loc.file, k->file, k->filelen) && e->loc.file[k->filelen] == '\0';
}

static void fill(void *entry, const void *key)
{
    struct loc_entry *e = entry;
    const struct loc_key *k = key;
    e->loc.lang = (uint8_t)k->lang;
    e->loc.line = k->line;
    e->loc.column = k->column;
    memcpy(e->text, k->function, k->flen);
    e->text[k->flen] = '\0';
    memcpy(e->text + k->flen + 1, k->file, k->filelen);
    e->text[k->flen + 1 + k->filelen] = '\0';
    e->loc.function = e->text;
    e->loc.file = e->text + k->flen + 1;
}

uint32_t sl_loc_intern(int lang, const char *function, size_t flen, const char *file, size_t filelen, int line,
                       int column)
{
    struct loc_key k = { lang, line, column, function ? function : "", file ? file : "", function ? flen : 0,
                         file ? filelen : 0 };
    k.flen = strnlen(k.function, k.flen < SL_LOC_TEXT ? k.flen : SL_LOC_TEXT);
    k.filelen = strnlen(k.file, k.filelen < SL_LOC_TEXT ? k.filelen : SL_LOC_TEXT);
    int nums[3] = { lang, line, column };
    uint64_t h = sl_fnv(SL_FNV_BASIS, nums, sizeof(nums));
    h = sl_fnv(h, k.function, k.flen);
    h = sl_fnv(h ^ 0xff, k.file, k.filelen);
    struct loc_entry *e = sl_itab_find(&locs, h, same, &k);
    if (!e)
        e = sl_itab_add(&locs, h, same, &k, sizeof(*e) + k.flen + k.filelen + 2, fill);
    return e ? e->head.id : 0;
}

const struct sl_loc *sl_loc_get(uint32_t id)
{
    struct loc_entry *e = sl_itab_get(&locs, id);
    return e ? &e->loc : NULL;
}
