/* Reads the input, then spins forever burning CPU. */
#include <stdio.h>

int main(void) {
    long long a, b;
    if (scanf("%lld %lld", &a, &b) != 2) return 1;
    volatile unsigned long long counter = 0;
    for (;;) counter++;
    printf("%lld\n", a + b);
    return 0;
}
