/* A parent fills 64 MiB, then forks 8 children. With "read" they only read
 * the parent's pages (shared after fork); with "write" each fills 64 MiB of
 * its own. Everyone holds for 1 s, so the monitor sees all nine. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SIZE (64 << 20)

static void hold(void) {
    struct timespec t = {1, 0};
    nanosleep(&t, NULL);
}

int main(int argc, char **argv) {
    int write_own = argc > 1 && !strcmp(argv[1], "write");
    char *shared = malloc(SIZE);
    if (!shared) return 1;
    memset(shared, 1, SIZE);
    for (int i = 0; i < 8; i++) {
        if (fork() == 0) {
            long sum = 0;
            if (write_own) {
                char *own = malloc(SIZE);
                if (!own) _exit(1);
                memset(own, 2, SIZE);
                sum = own[SIZE - 1];
            } else {
                for (long at = 0; at < SIZE; at += 4096) sum += shared[at];
            }
            hold();
            _exit(sum == 0);
        }
    }
    hold();
    int failed = 0, status;
    while (wait(&status) > 0) failed += !WIFEXITED(status) || WEXITSTATUS(status) != 0;
    printf("failed=%d\n", failed);
    return failed != 0;
}
