// so_cxx.cc - C++ code a C program loads late (dlopen), as Python loads C++ extension
// modules: its exceptions must still be handled by libgcc_s's unwinder. Used by
// cxx_dlopen.c.
#include <stdexcept>
#include <sys/socket.h>
#include <unistd.h>

extern "C" int cxx_throw_and_catch(int n)
{
    int caught = 0;
    for (int i = 0; i < n; i++) {
        try {
            int fd = socket(AF_INET, SOCK_DGRAM, 0);
            close(fd);
            throw std::runtime_error("late");
        } catch (const std::exception &) {
            caught++;
        }
    }
    return caught;
}
