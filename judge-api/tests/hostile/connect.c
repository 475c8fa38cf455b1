/* Tries to reach the host: TCP connect to 127.0.0.1:argv[1], and a UDP
 * datagram to a public address. Prints the outcome of each and the network
 * interfaces it can see. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static const char *result(int rc) { return rc == 0 ? "ok" : strerrorname_np(errno); }

int main(int argc, char **argv) {
    if (argc < 2)
        return 100;
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[1]))};
    inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
    int s = socket(AF_INET, SOCK_STREAM, 0);
    if (s < 0) {
        printf("tcp=%s\n", result(-1));
    } else {
        printf("tcp=%s\n", result(connect(s, (struct sockaddr *)&addr, sizeof addr)));
    }
    int u = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in dns = {.sin_family = AF_INET, .sin_port = htons(53)};
    inet_pton(AF_INET, "8.8.8.8", &dns.sin_addr);
    if (u < 0) {
        printf("udp=%s\n", result(-1));
    } else {
        ssize_t n = sendto(u, "x", 1, 0, (struct sockaddr *)&dns, sizeof dns);
        printf("udp=%s\n", result(n == 1 ? 0 : -1));
    }
    printf("interfaces=");
    struct if_nameindex *ifs = if_nameindex();
    for (struct if_nameindex *i = ifs; i && i->if_index; i++)
        printf("%s%s", i == ifs ? "" : ",", i->if_name);
    printf("\n");
    return 0;
}
