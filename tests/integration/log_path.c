// log_path: %p becomes the pid; reports are appended to a file created with mode 0600;
// a log_path that is a symbolic link is refused (O_NOFOLLOW: nothing written through
// it), with one warning, and the report goes to stderr instead.
// RUN: ln -s %T/target %T/link.log ; SOCKLEAK_OPTIONS="format=json:log_path=%T/link.log" %t ; SOCKLEAK_OPTIONS="format=json:log_path=%T/out.%p.jsonl" %t %T
// EXPECT: v("mode") == 0o600 and v("lines") == 1
// EXPECT: "is a symbolic link" in err and '"tool":"sockleak"' in err
// EXPECT: v("target_exists") == 0
#include <dirent.h>

#include "common.h"

int main(int argc, char **argv)
{
    MUST(socket(AF_INET, SOCK_STREAM, 0) >= 0);
    if (argc < 2)
        return 0;
    /* second run: look at the first run's results and at our own file after a report */
    MUST(sockleak_report && sockleak_report() == 0);
    char path[512];
    snprintf(path, sizeof(path), "%s/out.%d.jsonl", argv[1], (int)getpid());
    struct stat st;
    MUST(stat(path, &st) == 0);
    FILE *f = fopen(path, "r");
    int lines = 0, c;
    while ((c = fgetc(f)) != EOF)
        lines += c == '\n';
    fclose(f);
    snprintf(path, sizeof(path), "%s/target", argv[1]);
    printf("mode=%d lines=%d target_exists=%d\n", (int)(st.st_mode & 0777), lines, access(path, F_OK) == 0);
    return 0;
}
