/* O(n) loop: solves group 1 (n <= 1000), times out on group 2 (n up to 1e18).
   Expected: verdict TLE, score 30. (The modulo in the loop keeps the compiler
   from replacing the loop with a closed form.) */
#include <stdio.h>

int main(void) {
    unsigned long long n, s = 0;
    if (scanf("%llu", &n) != 1) return 1;
    for (unsigned long long i = 1; i <= n; i++) s = (s + i) % 1000000007ULL;
    printf("%llu\n", s);
    return 0;
}
