/* clone3 must answer ENOSYS; pthread_create must still work (glibc falls back to clone). */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/sched.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static void *worker(void *arg) {
    *(int *)arg = 42;
    return NULL;
}

int main(void) {
    struct clone_args args;
    memset(&args, 0, sizeof args);
    args.exit_signal = SIGCHLD;
    long pid = syscall(SYS_clone3, &args, sizeof args);
    if (pid == 0)
        _exit(0);
    if (pid > 0) {
        waitpid(pid, NULL, 0);
        printf("clone3=ok\n");
    } else {
        printf("clone3=%s\n", strerrorname_np(errno));
    }
    int value = 0;
    pthread_t t;
    int err = pthread_create(&t, NULL, worker, &value);
    if (err == 0) {
        pthread_join(t, NULL);
        printf("thread=%s\n", value == 42 ? "ok" : "wrong");
    } else {
        printf("thread=%s\n", strerrorname_np(err));
    }
    return 0;
}
