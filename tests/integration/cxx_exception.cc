// A C++ program that throws and catches behaves exactly as without the shim, and its
// exception unwinding is not rebound to libunwind: the shim loads libunwind privately
// (RTLD_LOCAL), so _Unwind_RaiseException still comes from libgcc_s. Sockets closed by
// destructors during unwinding are gone from the report; the one kept is reported
// with its C++ (demangled) name.
// EXPECT: v("caught") == 1000 and v("rethrown") == 1 and v("dtors") == 1000
// EXPECT: v("unwind_from_libunwind") == 0 and v("found") == 1
// EXPECT: r["summary"]["live"] == 1
// EXPECT: fn(r["sockets"][0]) == "keep_one(int)"
#include <dlfcn.h>
#include <stdexcept>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int dtors;
struct Guard {
    int fd;
    ~Guard()
    {
        dtors++;
        if (fd >= 0)
            close(fd);
    }
};

__attribute__((noinline)) static void open_then_throw(int i)
{
    Guard g{ socket(AF_INET, SOCK_STREAM, 0) };
    if (g.fd < 0)
        throw std::runtime_error("socket failed");
    throw std::runtime_error("boom " + std::to_string(i));
}

__attribute__((noinline)) static int keep_one(int)
{
    return socket(AF_INET, SOCK_DGRAM, 0);
}

int main()
{
    int caught = 0, rethrown = 0;
    for (int i = 0; i < 1000; i++) {
        try {
            open_then_throw(i);
        } catch (const std::runtime_error &e) {
            if (strncmp(e.what(), "boom", 4) == 0)
                caught++;
        }
    }
    try {
        try {
            throw 42;
        } catch (int) {
            throw;
        }
    } catch (int v) {
        rethrown = v == 42;
    }
    keep_one(0);
    void *p = dlsym(RTLD_DEFAULT, "_Unwind_RaiseException");
    Dl_info di;
    int found = p && dladdr(p, &di) && di.dli_fname;
    int from_libunwind = found && strstr(di.dli_fname, "libunwind") != nullptr;
    printf("caught=%d rethrown=%d dtors=%d found=%d unwind_from_libunwind=%d (%s)\n", caught, rethrown, dtors, found,
           from_libunwind, found ? di.dli_fname : "-");
    return 0;
}
