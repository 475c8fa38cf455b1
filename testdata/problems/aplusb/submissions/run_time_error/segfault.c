/* Crashes with SIGSEGV: writes far outside a small array (address depends on input,
   so the compiler cannot turn it into a trap instruction). */
#include <stdio.h>

static int small[16];

int main(void) {
    long long a, b;
    if (scanf("%lld %lld", &a, &b) != 2) return 1;
    volatile int *p = small + (a & 1) + (1LL << 40);
    *p = 1;
    printf("%lld\n", a + b);
    return 0;
}
