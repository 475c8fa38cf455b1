/* Fork bomb: every process forks forever. argv[1] is a marker the test looks
 * for on the host afterwards (children inherit the command line). */
#include <unistd.h>

int main(void) {
    for (;;)
        fork();
}
