/* Guesses once, then crashes. */
#include <stdio.h>
#include <stdlib.h>
int main(void) {
    printf("1\n");
    fflush(stdout);
    abort();
}
