/* Run once per test of a problem: looks for anything an earlier run of the
 * same warm sandbox slot could have left behind (a file in /tmp, a SysV
 * semaphore set, an abstract unix socket, a live process), then leaves all of
 * those behind itself. Prints "clean" when it found nothing. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <dirent.h>
#include <sys/ipc.h>
#include <sys/sem.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <ctype.h>
#include <stddef.h>

static struct sockaddr_un abstract_address(socklen_t *len) {
    struct sockaddr_un addr;
    memset(&addr, 0, sizeof addr);
    addr.sun_family = AF_UNIX;
    const char name[] = "judge-leftover-socket";
    memcpy(addr.sun_path + 1, name, sizeof name - 1);
    *len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + sizeof name - 1);
    return addr;
}

int main(void) {
    int leaks = 0;
    if (access("/tmp/leftover-marker", F_OK) == 0) { printf("leak: /tmp file\n"); leaks++; }
    if (semget(0x4a554447, 0, 0) >= 0) { printf("leak: SysV semaphore set\n"); leaks++; }
    socklen_t len;
    struct sockaddr_un addr = abstract_address(&len);
    int probe = socket(AF_UNIX, SOCK_STREAM, 0);
    if (connect(probe, (struct sockaddr *)&addr, len) == 0) { printf("leak: abstract socket\n"); leaks++; }
    close(probe);
    int processes = 0;
    DIR *proc = opendir("/proc");
    struct dirent *entry;
    while (proc && (entry = readdir(proc))) if (isdigit((unsigned char)entry->d_name[0])) processes++;
    if (processes != 1) { printf("leak: %d processes visible\n", processes); leaks++; }
    if (!leaks) printf("clean\n");
    fflush(stdout);

    /* Now leave everything behind. */
    FILE *f = fopen("/tmp/leftover-marker", "w");
    if (f) fclose(f);
    /* The sandbox refuses SysV semaphores (EPERM); anything else is a failure. */
    if (semget(0x4a554447, 1, IPC_CREAT | 0666) < 0 && errno != EPERM) { printf("semget failed\n"); return 1; }
    if (fork() == 0) {
        setsid();
        int server = socket(AF_UNIX, SOCK_STREAM, 0);
        bind(server, (struct sockaddr *)&addr, len);
        listen(server, 4);
        for (;;) pause();
    }
    usleep(20000);
    return 0;
}
