#include <stdio.h>

int main(void) {
    unsigned long long n;
    if (scanf("%llu", &n) != 1) return 1;
    unsigned __int128 s = (unsigned __int128)n * (n + 1) / 2;
    printf("%llu\n", (unsigned long long)(s % 1000000007u));
    return 0;
}
