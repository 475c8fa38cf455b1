/* Wrong: 2 decimals is far outside the 1e-6 tolerance (passes the sample 7/2 = 3.50). */
#include <stdio.h>

int main(void) {
    long long a, b;
    if (scanf("%lld %lld", &a, &b) != 2) return 1;
    printf("%.2f\n", (double)a / (double)b);
    return 0;
}
