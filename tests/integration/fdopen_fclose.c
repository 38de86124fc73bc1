// fdopen() + fclose() closes a socket behind the shim's back (glibc closes it
// internally); the report must not list it. A socket that takes the number over
// afterwards is reported with its own stack and origin, not the old one's.
// EXPECT: fds() == {v("kept"), v("reused")}
// EXPECT: fn(sock(v("reused"))) == "take_number" and sock(v("reused"))["type"] == "dgram"
// EXPECT: v("gone") not in fds() or v("gone") == v("reused")
// EXPECT: r["summary"]["live"] == 2
// EXPECT: r["coverage"]["closed_behind_back"] >= 2
#include "common.h"

static NOINLINE int take_number(void)
{
    return socket(AF_INET, SOCK_DGRAM, 0);
}

int main(void)
{
    int kept = socket(AF_INET, SOCK_STREAM, 0);
    /* one closed behind our back and left so */
    int gone = socket(AF_INET, SOCK_STREAM, 0);
    FILE *f = fdopen(gone, "r+");
    MUST(f != NULL);
    MUST(fclose(f) == 0);
    /* another closed behind our back, then its number reused by a new socket */
    int s = socket(AF_INET6, SOCK_STREAM, 0);
    FILE *g = fdopen(s, "r+");
    MUST(g != NULL);
    MUST(fclose(g) == 0);
    int reused = take_number();
    MUST(reused == gone); /* lowest free number */
    printf("kept=%d gone=%d reused=%d\n", kept, gone, reused);
    return 0;
}
