/* A forked child burns ~0.5 s of CPU; the parent only waits for it. */
#include <stdio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double process_cpu(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(void) {
    pid_t pid = fork();
    if (pid < 0)
        return 1;
    if (pid == 0) {
        volatile unsigned long n = 0;
        while (process_cpu() < 0.5)
            for (int i = 0; i < 10000; i++)
                n++;
        _exit(0);
    }
    int status;
    waitpid(pid, &status, 0);
    puts("done");
    return 0;
}
