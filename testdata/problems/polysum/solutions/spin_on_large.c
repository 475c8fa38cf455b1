/* Right on small numbers, never finishes on large ones. */
#include <stdio.h>
#include <stdlib.h>
int main(void) {
    int n;
    long long x, sum = 0;
    if (scanf("%d", &n) != 1) return 0;
    for (int i = 0; i < n && scanf("%lld", &x) == 1; i++) {
        if (llabs(x) > 1000000000LL) {
            volatile unsigned long long spin = 0;
            for (;;) spin++;
        }
        sum += x;
    }
    printf("%lld\n", sum);
    return 0;
}
