/* Tries socket() and socketpair() with each address family argv names
 * (numbers), printing "<family>=<ok|error>" per call. A netlink socket asks
 * for the kernel's device events (NETLINK_KOBJECT_UEVENT). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <linux/netlink.h>

int main(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        int family = atoi(argv[i]);
        int protocol = family == AF_NETLINK ? NETLINK_KOBJECT_UEVENT : 0;
        int type = family == AF_NETLINK ? SOCK_DGRAM : SOCK_STREAM;
        int fd = socket(family, type, protocol);
        printf("socket%d=%s\n", family, fd >= 0 ? "ok" : strerror(errno));
        int pair[2];
        int rc = socketpair(family, SOCK_STREAM, 0, pair);
        printf("socketpair%d=%s\n", family, rc == 0 ? "ok" : strerror(errno));
    }
    return 0;
}
