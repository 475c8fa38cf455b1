/* Tries to change its stdin: write to fd 0, reopen it writable through
 * /proc/self/fd/0, truncate it; then re-reads it from the start. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char *result(int rc) { return rc == 0 ? "ok" : strerrorname_np(errno); }

int main(void) {
    char buf[256] = {0};
    ssize_t n = read(0, buf, sizeof buf - 1);
    buf[n > 0 ? n : 0] = 0;
    buf[strcspn(buf, "\n")] = 0;
    printf("read=%s\n", buf);
    printf("write=%s\n", result(write(0, "PWNED", 5) == 5 ? 0 : -1));
    int fd = open("/proc/self/fd/0", O_WRONLY);
    if (fd < 0) {
        printf("reopen=%s\n", result(-1));
    } else {
        printf("reopen=ok\n");
        printf("reopen_write=%s\n", result(write(fd, "PWNED", 5) == 5 ? 0 : -1));
        printf("reopen_truncate=%s\n", result(ftruncate(fd, 0)));
        close(fd);
    }
    printf("truncate=%s\n", result(ftruncate(0, 0)));
    char again[256] = {0};
    n = pread(0, again, sizeof again - 1, 0);
    again[n > 0 ? n : 0] = 0;
    again[strcspn(again, "\n")] = 0;
    printf("reread=%s\n", again);
    return 0;
}
