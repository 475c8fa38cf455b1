/* Thread bomb: create sleeping threads (small stacks, so the process limit and
 * not the address space is what stops us) until pthread_create fails, report
 * how many we got, then spin. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void *sleeper(void *arg) {
    (void)arg;
    for (;;)
        pause();
    return NULL;
}

int main(void) {
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 64 * 1024);
    long created = 0;
    int reported = 0;
    for (;;) {
        pthread_t t;
        int err = pthread_create(&t, &attr, sleeper, NULL);
        if (err == 0) {
            created++;
        } else if (!reported) {
            fprintf(stderr, "created=%ld\nerror=%s\n", created, strerrorname_np(err));
            fflush(stderr);
            reported = 1;
        }
    }
}
