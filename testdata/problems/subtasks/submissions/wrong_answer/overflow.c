/* Wrong for large n: n*(n+1) overflows 64 bits. Passes group 1 (n <= 1000),
   so its verdict is WA with score 30. */
#include <stdio.h>

int main(void) {
    unsigned long long n;
    if (scanf("%llu", &n) != 1) return 1;
    printf("%llu\n", n * (n + 1) / 2 % 1000000007ULL);
    return 0;
}
