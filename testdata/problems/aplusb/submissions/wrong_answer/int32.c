/* Wrong: the sum is truncated to 32 bits. Passes the sample, fails on big values. */
#include <stdio.h>

int main(void) {
    long long a, b;
    if (scanf("%lld %lld", &a, &b) != 2) return 1;
    int s = (int)(a + b);
    printf("%d\n", s);
    return 0;
}
