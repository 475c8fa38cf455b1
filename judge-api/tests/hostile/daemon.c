/* Escapes its parent: double fork + setsid, the grandchild ignores every
 * catchable signal and sleeps forever. The program itself exits 0 at once.
 * argv[1] is a marker the test looks for on the host afterwards. */
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
    pid_t child = fork();
    if (child < 0)
        return 1;
    if (child == 0) {
        setsid();
        pid_t grandchild = fork();
        if (grandchild == 0) {
            for (int s = 1; s < 32; s++)
                signal(s, SIG_IGN);
            close(0);
            close(1);
            close(2);
            for (;;)
                sleep(1);
        }
        _exit(grandchild < 0 ? 1 : 0);
    }
    int status = 0;
    waitpid(child, &status, 0);
    printf("daemonized=%s\n", WIFEXITED(status) && WEXITSTATUS(status) == 0 ? "yes" : "no");
    return 0;
}
