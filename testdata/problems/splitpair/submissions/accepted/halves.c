#include <stdio.h>
int main(void) {
    unsigned long long n;
    if (scanf("%llu", &n) != 1) return 1;
    printf("%llu %llu\n", n / 2, n / 2);
    return 0;
}
