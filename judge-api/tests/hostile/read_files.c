/* For each path argument, tries to open and read it; prints
 * "path=ok:<first line>" (NULs shown as spaces) or "path=<errno name>". */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        int fd = open(argv[i], O_RDONLY);
        if (fd < 0) {
            printf("%s=%s\n", argv[i], strerrorname_np(errno));
            continue;
        }
        char buf[256] = {0};
        ssize_t n = read(fd, buf, sizeof buf - 1);
        if (n < 0) {
            printf("%s=%s\n", argv[i], strerrorname_np(errno));
        } else {
            for (ssize_t j = 0; j < n; j++)
                if (buf[j] == 0)
                    buf[j] = ' ';
            buf[strcspn(buf, "\n")] = 0;
            printf("%s=ok:%s\n", argv[i], buf);
        }
        close(fd);
    }
    return 0;
}
