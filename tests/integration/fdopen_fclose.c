// fdopen() + fclose() closes a socket behind the shim's back (glibc closes it
// internally); the report must not list it, whether its number stays free or is taken
// over. A socket that takes the number over afterwards is reported as itself (its own
// stack, type, family and inode), not as the one closed there.
// EXPECT: fds() == {v("kept"), v("reused")}
// EXPECT: fn(sock(v("reused"))) == "take_number" and sock(v("reused"))["type"] == "dgram"
// EXPECT: sock(v("reused"))["family"] == "inet" and sock(v("reused"))["inode"] == v("reused_ino")
// EXPECT: r["summary"]["live"] == 2
// EXPECT: r["coverage"]["closed_behind_back"] >= 2
#include "common.h"

static NOINLINE int take_number(void)
{
    return socket(AF_INET, SOCK_DGRAM, 0);
}

static void fclose_behind_back(int fd)
{
    FILE *f = fdopen(fd, "r+");
    MUST(f != NULL);
    MUST(fclose(f) == 0);
}

int main(void)
{
    int kept = socket(AF_INET, SOCK_STREAM, 0);
    int s = socket(AF_INET6, SOCK_STREAM, 0);   /* closed behind our back, its number reused */
    int gone = socket(AF_INET, SOCK_STREAM, 0); /* closed behind our back and left so */
    MUST(kept >= 0 && s > kept && gone > s);
    fclose_behind_back(s);
    fclose_behind_back(gone);
    int reused = take_number();
    MUST(reused == s); /* lowest free number; gone's stays free (no fd is opened after) */
    struct stat st;
    MUST(fstat(reused, &st) == 0);
    printf("kept=%d gone=%d reused=%d reused_ino=%lu\n", kept, gone, reused, (unsigned long)st.st_ino);
    return 0;
}
