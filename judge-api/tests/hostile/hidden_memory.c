/* Tries to hold memory outside any resident set: a memfd written but never
 * mapped, a SysV segment filled and detached, SysV message queues. Both must be refused. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/shm.h>
#include <unistd.h>

int main(void) {
    int fd = memfd_create("hoard", 0);
    printf("memfd=%s\n", fd < 0 ? strerror(errno) : "ok");
    int id = shmget(IPC_PRIVATE, 64 << 20, IPC_CREAT | 0600);
    printf("shmget=%s\n", id < 0 ? strerror(errno) : "ok");
    int queue = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
    printf("msgget=%s\n", queue < 0 ? strerror(errno) : "ok");
    return 0;
}
