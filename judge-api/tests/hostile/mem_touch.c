/* Allocates argv[1] MiB, touches every page, holds it for 100 ms. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int main(int argc, char **argv) {
    size_t mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 1;
    char *p = malloc(mib << 20);
    if (!p) {
        puts("malloc failed");
        return 1;
    }
    memset(p, 1, mib << 20);
    struct timespec hold = {0, 100 * 1000 * 1000};
    nanosleep(&hold, NULL);
    printf("touched=%zu sum=%d\n", mib, p[(mib << 20) - 1]);
    return 0;
}
