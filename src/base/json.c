/*
 * json.c - a JSON writer for the reports: the caller says what (a key and a value, an
 * object or an array opening or closing), the writer places the commas and colons.
 *
 * Two bits per nesting level: whether the container open at that level has a member
 * already (a member written there is preceded by a comma if so), and whether it is an
 * array (its closing bracket). Keys are written only inside objects; inside an array
 * the key argument is NULL. Strings pass through sl_buf_json_str (escaped, valid
 * UTF-8); numbers are integers.
 */
#define _GNU_SOURCE
#include <inttypes.h>

#include "base.h"

void sl_json_init(struct sl_json *j, struct sl_buf *b)
{
    j->b = b;
    j->depth = 0;
    j->filled = j->arrays = 0;
}

/* Comma and key before a member of the innermost container. */
static void member(struct sl_json *j, const char *key)
{
    uint32_t bit = 1u << j->depth;
    if (j->filled & bit)
        sl_buf_putc(j->b, ',');
    j->filled |= bit;
    if (key && !(j->arrays & bit)) {
        sl_buf_json_str(j->b, key);
        sl_buf_putc(j->b, ':');
    }
}

static void open_container(struct sl_json *j, const char *key, bool array)
{
    member(j, key);
    sl_buf_putc(j->b, array ? '[' : '{');
    if (j->depth + 1 >= SL_JSON_DEPTH) {
        j->b->failed = true; /* deeper than any report goes: mark it broken, never torn silently */
        return;
    }
    j->depth++;
    uint32_t bit = 1u << j->depth;
    j->filled &= ~bit;
    j->arrays = array ? j->arrays | bit : j->arrays & ~bit;
}

void sl_json_obj(struct sl_json *j, const char *key)
{
    open_container(j, key, false);
}

void sl_json_arr(struct sl_json *j, const char *key)
{
    open_container(j, key, true);
}

void sl_json_end(struct sl_json *j)
{
    if (j->depth == 0)
        return;
    sl_buf_putc(j->b, (j->arrays >> j->depth) & 1 ? ']' : '}');
    j->depth--;
}

void sl_json_str(struct sl_json *j, const char *key, const char *v)
{
    member(j, key);
    sl_buf_json_str(j->b, v);
}

void sl_json_int(struct sl_json *j, const char *key, long long v)
{
    member(j, key);
    sl_buf_printf(j->b, "%lld", v);
}

void sl_json_bool(struct sl_json *j, const char *key, bool v)
{
    member(j, key);
    sl_buf_puts(j->b, v ? "true" : "false");
}

void sl_json_null(struct sl_json *j, const char *key)
{
    member(j, key);
    sl_buf_puts(j->b, "null");
}

void sl_json_ms(struct sl_json *j, const char *key, int64_t ns)
{
    if (ns < 0)
        sl_json_null(j, key);
    else
        sl_json_int(j, key, (long long)(ns / SL_MS));
}

void sl_json_hex(struct sl_json *j, const char *key, uintptr_t v)
{
    member(j, key);
    sl_buf_printf(j->b, "\"0x%" PRIxPTR "\"", v);
}
