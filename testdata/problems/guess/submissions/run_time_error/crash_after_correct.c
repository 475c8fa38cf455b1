/* Finds the number (the interactor accepts with exit 42), then exits with
   status 1. The verdict is RE whichever process the judge sees exit first. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void) {
    long long lo = 1, hi = 1000000000;
    char reply[32];
    while (lo <= hi) {
        long long mid = lo + (hi - lo) / 2;
        printf("%lld\n", mid);
        fflush(stdout);
        if (scanf("%31s", reply) != 1) break;
        if (strcmp(reply, "correct") == 0) break;
        if (strcmp(reply, "lower") == 0) hi = mid - 1;
        else lo = mid + 1;
    }
    exit(1);
}
