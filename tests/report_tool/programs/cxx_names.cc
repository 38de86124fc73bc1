// cxx_names: a socket opened from a C++ operator|, whose name holds a '|' (a Markdown
// table's cell separator).
#include <sys/socket.h>
#include <netinet/in.h>

struct Flags {
    int fd;
};

__attribute__((noinline)) Flags operator|(Flags a, Flags b)
{
    return Flags{ socket(AF_INET, SOCK_DGRAM, 0) + 0 * (a.fd + b.fd) };
}

int main()
{
    Flags f = Flags{ 0 } | Flags{ 1 };
    return f.fd >= 0 ? 0 : 1;
}
