/* For each path argument, tries to create and write a file there and to
 * create a directory at path.d; prints "path=ok|<errno>" and "path.d=...". */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        int fd = open(argv[i], O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0) {
            printf("%s=%s\n", argv[i], strerrorname_np(errno));
        } else {
            ssize_t n = write(fd, "pwned\n", 6);
            printf("%s=%s\n", argv[i], n == 6 ? "ok" : strerrorname_np(errno));
            close(fd);
        }
        char dir[4096];
        snprintf(dir, sizeof dir, "%s.d", argv[i]);
        printf("%s=%s\n", dir, mkdir(dir, 0755) == 0 ? "ok" : strerrorname_np(errno));
    }
    return 0;
}
