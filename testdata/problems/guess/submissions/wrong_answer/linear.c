/* Wrong: guesses 1, 2, 3, ... and runs out of guesses. Exits quietly once the
   interactor stops answering, so the verdict is the interactor's (WA). */
#include <stdio.h>
#include <string.h>

int main(void) {
    char reply[32];
    for (long long g = 1; g <= 1000000000; g++) {
        printf("%lld\n", g);
        fflush(stdout);
        if (scanf("%31s", reply) != 1) return 0;
        if (strcmp(reply, "correct") == 0) return 0;
    }
    return 0;
}
