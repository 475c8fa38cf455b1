/* Allocates and touches 1 GiB in 64 MiB chunks (memory limit is 256 MiB).
   Under a cgroup limit the process is OOM-killed while touching; under an
   address-space limit malloc fails and we abort(). Either way: MLE. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHUNK (64u << 20)
#define CHUNKS 16

static char *chunks[CHUNKS];

int main(void) {
    long long a, b;
    if (scanf("%lld %lld", &a, &b) != 2) return 1;
    unsigned long long check = 0;
    for (int i = 0; i < CHUNKS; i++) {
        chunks[i] = malloc(CHUNK);
        if (!chunks[i]) {
            fprintf(stderr, "malloc of chunk %d failed\n", i);
            abort();
        }
        memset(chunks[i], i + 1, CHUNK);
    }
    for (int i = 0; i < CHUNKS; i++) check += (unsigned char)chunks[i][i * 4096 + 7];
    printf("%lld\n", a + b + (long long)(check == 0));
    return 0;
}
