/* Two threads each burn ~0.4 s of their own CPU time. */
#include <pthread.h>
#include <stdio.h>
#include <time.h>

static double thread_cpu(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *burn(void *arg) {
    (void)arg;
    volatile unsigned long n = 0;
    while (thread_cpu() < 0.4)
        for (int i = 0; i < 10000; i++)
            n++;
    return NULL;
}

int main(void) {
    pthread_t a, b;
    if (pthread_create(&a, NULL, burn, NULL) || pthread_create(&b, NULL, burn, NULL)) {
        puts("pthread_create failed");
        return 1;
    }
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    puts("done");
    return 0;
}
