/* Makes one guess, reads the answer, then exits with status 1. */
#include <stdio.h>
#include <stdlib.h>

int main(void) {
    char reply[32];
    printf("500000000\n");
    fflush(stdout);
    if (scanf("%31s", reply) != 1) return 0;
    exit(1);
}
