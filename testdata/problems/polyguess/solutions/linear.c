/* Counts up from 1: finds small numbers in too many guesses (the checker's WA),
   large ones not within the interactor's 100 (the interactor's WA). */
#include <stdio.h>
#include <string.h>
int main(void) {
    char reply[16];
    for (long long guess = 1; guess <= 1000000; guess++) {
        printf("%lld\n", guess);
        fflush(stdout);
        if (scanf("%15s", reply) != 1 || strcmp(reply, "correct") == 0) return 0;
    }
    return 0;
}
