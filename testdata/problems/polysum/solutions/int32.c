/* Adds in 32 bits: right on the small tests, wrong on the large ones. */
#include <stdio.h>
int main(void) {
    int n, x, sum = 0;
    if (scanf("%d", &n) != 1) return 0;
    for (int i = 0; i < n && scanf("%d", &x) == 1; i++) sum += x;
    printf("%d\n", sum);
    return 0;
}
