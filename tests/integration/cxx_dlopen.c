// A C program that loads C++ code late with dlopen (Python loading a C++ extension
// module does this): libgcc_s arrives after the shim, and if the shim had linked
// libunwind.so.8 into the global scope, libunwind's _Unwind_RaiseException would be
// found first and take over the C++ code's exceptions. The shim keeps libunwind
// local: the symbol still resolves to libgcc_s and exceptions work.
// ENV: SOCKLEAK_BUILD=%B/tests
// ASAN: skip (libasan itself loads the C++ runtime at start-up: nothing is late)
// EXPECT: v("caught") == 100 and v("from_libunwind") == 0 and v("from_libgcc") == 1
#include <dlfcn.h>

#include "common.h"

int main(void)
{
    MUST(socket(AF_INET, SOCK_STREAM, 0) >= 0); /* the shim has unwound */
    MUST(dlsym(RTLD_DEFAULT, "_ZSt9terminatev") == NULL); /* no C++ runtime yet */
    char path[512];
    snprintf(path, sizeof(path), "%s/../tests/integration/so_cxx.so", getenv("SOCKLEAK_BUILD"));
    void *h = dlopen(path, RTLD_NOW | RTLD_GLOBAL);
    MUST(h != NULL);
    int (*run)(int) = (int (*)(int))dlsym(h, "cxx_throw_and_catch");
    MUST(run != NULL);
    int caught = run(100);
    Dl_info di;
    void *p = dlsym(RTLD_DEFAULT, "_Unwind_RaiseException");
    MUST(p && dladdr(p, &di) && di.dli_fname);
    printf("caught=%d from_libunwind=%d from_libgcc=%d (%s)\n", caught, strstr(di.dli_fname, "libunwind") != NULL,
           strstr(di.dli_fname, "libgcc_s") != NULL, di.dli_fname);
    return 0;
}
