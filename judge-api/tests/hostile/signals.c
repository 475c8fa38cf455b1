/* Signals a program sends itself, by route (argv[1]):
 *   stop         raise SIGSTOP, then SIGTSTP; prints "continued"
 *   thread_stop  a second thread takes a process-wide SIGTSTP (main blocks
 *                it) and is sent SIGSTOP directly: each stops the whole
 *                process unless the sandbox continues it; prints "joined"
 *   trap         raise SIGTRAP (must kill the program like any signal)
 *   fork_exec    a child execs argv[2] (e.g. /bin/echo) with argv[3]; the
 *                parent waits and prints "child=<exit status>"
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static void *take_stops(void *arg) {
    (void)arg;
    /* Process-directed: only this thread does not block it. */
    kill(getpid(), SIGTSTP);
    /* Thread-directed SIGSTOP (it cannot be blocked). */
    syscall(SYS_tgkill, getpid(), (pid_t)syscall(SYS_gettid), SIGSTOP);
    return NULL;
}

int main(int argc, char **argv) {
    const char *route = argc > 1 ? argv[1] : "";
    if (!strcmp(route, "stop")) {
        raise(SIGSTOP);
        raise(SIGTSTP);
        puts("continued");
        return 0;
    }
    if (!strcmp(route, "thread_stop")) {
        sigset_t tstp;
        sigemptyset(&tstp);
        sigaddset(&tstp, SIGTSTP);
        pthread_sigmask(SIG_BLOCK, &tstp, NULL);
        pthread_t thread;
        if (pthread_create(&thread, NULL, take_stops, NULL)) {
            puts("pthread_create failed");
            return 1;
        }
        pthread_join(thread, NULL);
        puts("joined");
        return 0;
    }
    if (!strcmp(route, "trap")) {
        raise(SIGTRAP);
        puts("survived SIGTRAP");
        return 0;
    }
    if (!strcmp(route, "fork_exec") && argc > 3) {
        fflush(stdout);
        pid_t child = fork();
        if (child == 0) {
            execl(argv[2], argv[2], argv[3], (char *)NULL);
            _exit(127);
        }
        int status = 0;
        waitpid(child, &status, 0);
        printf("child=%d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        return 0;
    }
    puts("unknown route");
    return 2;
}
