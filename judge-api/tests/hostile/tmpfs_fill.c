/* Fills /tmp with 8 MiB files named /tmp/<argv[1]>-N until a write fails,
 * then reports the error and how much was written. Files stay below the
 * output (file size) limit. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
    const char *marker = argc > 1 ? argv[1] : "fill";
    static char buf[1 << 20];
    memset(buf, 'f', sizeof buf);
    long total = 0;
    for (int i = 0;; i++) {
        char name[256];
        snprintf(name, sizeof name, "/tmp/%s-%d", marker, i);
        int fd = open(name, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd < 0) {
            printf("error=%s\nwritten_mib=%ld\n", strerrorname_np(errno), total >> 20);
            return 0;
        }
        for (int j = 0; j < 8; j++) {
            ssize_t n = write(fd, buf, sizeof buf);
            if (n > 0)
                total += n;
            if (n != (ssize_t)sizeof buf) {
                printf("error=%s\nwritten_mib=%ld\n", n < 0 ? strerrorname_np(errno) : "short", total >> 20);
                return 0;
            }
        }
        close(fd);
    }
}
