/* Writes output forever (the output limit is 8 MiB). */
#include <stdio.h>
#include <string.h>

int main(void) {
    long long a, b;
    if (scanf("%lld %lld", &a, &b) != 2) return 1;
    static char buf[1 << 16];
    memset(buf, '7', sizeof buf);
    buf[sizeof buf - 1] = '\n';
    for (;;) fwrite(buf, 1, sizeof buf, stdout);
    return 0;
}
