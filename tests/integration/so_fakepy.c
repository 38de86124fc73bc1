/*
 * so_fakepy.c - a fake CPython for py_fake_layout: it exports what sockleak looks for
 * (Py_Version, PyGILState_GetThisThreadState, PyCode_Type, PyUnicode_Type,
 * PyBytes_Type), but its memory does not have the layout its version promises.
 * fakepy_set(version, what) picks the version and what the "thread state" is:
 *   junk       a buffer of 0x41 bytes (pointers that cannot be pointers)
 *   unmapped   a page that cannot be read
 *   wrongtype  a chain laid out as 3.11's whose code object is not of PyCode_Type
 *   null       no thread state (a thread that is not Python's)
 */
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

unsigned long Py_Version = 0x030b02f0;
char PyCode_Type[416], PyUnicode_Type[416], PyBytes_Type[416];
static uintptr_t mem[1024];
static void *state;

void fakepy_set(unsigned long version, const char *what)
{
    Py_Version = version;
    memset(mem, 0x41, sizeof(mem));
    state = mem;
    if (!strcmp(what, "unmapped")) {
        state = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    } else if (!strcmp(what, "wrongtype")) {
        /* 3.11: tstate->cframe at 56, cframe->current_frame at 8, frame->f_code at 32,
         * frame->previous at 48, frame->owner at 69; code->ob_type at 8 */
        memset(mem, 0, sizeof(mem));
        mem[56 / 8] = (uintptr_t)&mem[64];
        mem[64 + 1] = (uintptr_t)&mem[128];
        mem[128 + 4] = (uintptr_t)&mem[256];
        mem[256 + 1] = (uintptr_t)PyUnicode_Type; /* not PyCode_Type */
    } else if (!strcmp(what, "null")) {
        state = NULL;
    }
}

void *PyGILState_GetThisThreadState(void)
{
    return state;
}
