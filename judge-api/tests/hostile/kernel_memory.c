/* Tries to make the kernel hold memory that no resident set shows, by one
 * route given as argv[1], until an allocation fails or `cap` MiB (argv[2],
 * the program's own estimate) are held; then holds it for 0.3 s and exits.
 *   xattr       user extended attributes on files in /tmp
 *   sem         SysV semaphore sets
 *   sockets     unread data in unix socket buffers, across 8 processes
 *   pagetables  page tables of a huge sparse mapping (reads map the zero page)
 *   inodes      empty files with long names in /tmp
 * Prints "<route>=<how it stopped> held_mib=<estimate>". */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sem.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

static long long cap_bytes;

static int report(const char *route, int err, long long held) {
    printf("%s=%s held_mib=%lld\n", route, err ? strerror(err) : "cap", held >> 20);
    fflush(stdout);
    /* Hold it a moment, so the host can look, then end. */
    usleep(300000);
    exit(0);
}

static int xattrs(void) {
    static char value[65536];
    memset(value, 'x', sizeof value);
    long long held = 0;
    for (int file = 0; held < cap_bytes; file++) {
        char path[64];
        snprintf(path, sizeof path, "/tmp/x%d", file);
        int fd = open(path, O_CREAT | O_WRONLY, 0600);
        if (fd < 0) return report("xattr", errno, held);
        close(fd);
        for (int i = 0; i < 64 && held < cap_bytes; i++) {
            char name[32];
            snprintf(name, sizeof name, "user.a%d", i);
            if (setxattr(path, name, value, sizeof value, 0) != 0) return report("xattr", errno, held);
            held += sizeof value;
        }
    }
    return report("xattr", 0, held);
}

static int semaphores(void) {
    long long held = 0;
    while (held < cap_bytes) {
        /* The kernel keeps about 64 bytes per semaphore. */
        if (semget(IPC_PRIVATE, 32000, IPC_CREAT | 0600) < 0) return report("sem", errno, held);
        held += 32000LL * 64;
    }
    return report("sem", 0, held);
}

/* One process's share: socket pairs whose buffers it fills and never reads. */
static long long fill_sockets(long long budget, int *err) {
    static char chunk[65536];
    long long held = 0;
    while (held < budget) {
        int pair[2];
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, pair) != 0) {
            *err = errno;
            return held;
        }
        int big = 1 << 24;
        for (int side = 0; side < 2; side++) {
            setsockopt(pair[side], SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
            ssize_t n;
            while (held < budget && (n = write(pair[side], chunk, sizeof chunk)) > 0) held += n;
        }
    }
    *err = 0;
    return held;
}

static int sockets(void) {
    int err = 0;
    for (int i = 0; i < 7; i++) {
        if (fork() == 0) {
            fill_sockets(cap_bytes / 8, &err);
            for (;;) pause();
        }
    }
    long long held = fill_sockets(cap_bytes / 8, &err);
    usleep(200000);
    return report("sockets", err, held * 8);
}

static int page_tables(void) {
    /* Read-only, so nothing is committed; each read maps the shared zero
     * page, which no resident set counts, but costs a page-table page per 2 MiB. */
    size_t span = 1ULL << 40;
    char *base = mmap(NULL, span, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (base == MAP_FAILED) return report("pagetables", errno, 0);
    madvise(base, span, MADV_NOHUGEPAGE);
    long long held = 0;
    volatile char sink = 0;
    for (size_t off = 0; off < span && held < cap_bytes; off += 2 << 20) {
        sink += base[off];
        held += 4096;
    }
    (void)sink;
    return report("pagetables", 0, held);
}

static int inodes(void) {
    char path[300];
    long long held = 0;
    for (long i = 0; held < cap_bytes; i++) {
        /* A name of 250 bytes: the dentry keeps it in a separate allocation. */
        int n = snprintf(path, sizeof path, "/tmp/%ld-", i);
        memset(path + n, 'n', 250 - (n - 5));
        path[255] = 0;
        int fd = open(path, O_CREAT | O_WRONLY, 0600);
        if (fd < 0) return report("inodes", errno, held);
        close(fd);
        held += 1200; /* inode, dentry and name, roughly */
    }
    return report("inodes", 0, held);
}

int main(int argc, char **argv) {
    if (argc < 3) return 2;
    cap_bytes = atoll(argv[2]) << 20;
    if (!strcmp(argv[1], "xattr")) return xattrs();
    if (!strcmp(argv[1], "sem")) return semaphores();
    if (!strcmp(argv[1], "sockets")) return sockets();
    if (!strcmp(argv[1], "pagetables")) return page_tables();
    if (!strcmp(argv[1], "inodes")) return inodes();
    return 2;
}
