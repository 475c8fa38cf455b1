#include <stdio.h>
#include <string.h>
int main(void) {
    long long lo = 1, hi = 1000000;
    char reply[16];
    while (lo <= hi) {
        long long mid = lo + (hi - lo) / 2;
        printf("%lld\n", mid);
        fflush(stdout);
        if (scanf("%15s", reply) != 1 || strcmp(reply, "correct") == 0) return 0;
        if (strcmp(reply, "lower") == 0) hi = mid - 1; else lo = mid + 1;
    }
    return 0;
}
