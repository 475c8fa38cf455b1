/* Prints the pair in the wrong order (x > y) once n > 2. */
#include <stdio.h>
int main(void) {
    unsigned long long n;
    if (scanf("%llu", &n) != 1) return 1;
    printf("%llu 1\n", n - 1);
    return 0;
}
