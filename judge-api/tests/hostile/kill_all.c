/* kill(-1, SIGKILL), then SIGKILL to pid 1 and to every pid given as an
 * argument (host pids of the test); prints its uid, each outcome, and that
 * it survived. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *result(int rc) { return rc == 0 ? "ok" : strerrorname_np(errno); }

int main(int argc, char **argv) {
    printf("uid=%d\n", (int)getuid());
    printf("kill_all=%s\n", result(kill(-1, SIGKILL)));
    printf("kill_1=%s\n", result(kill(1, SIGKILL)));
    for (int i = 1; i < argc; i++)
        printf("kill_%s=%s\n", argv[i], result(kill(atoi(argv[i]), SIGKILL)));
    printf("survived=yes\n");
    return 0;
}
