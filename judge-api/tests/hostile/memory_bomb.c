/* Memory bomb: allocate and touch 1 MiB at a time, forever. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void) {
    for (;;) {
        char *p = malloc(1 << 20);
        if (!p) {
            puts("malloc failed");
            return 1;
        }
        memset(p, 0x5a, 1 << 20);
    }
}
