/* The kernel floor's probe (floor.rs): exits 0 only if the run has what its
 * step claims. argv: step, uid, the host's net/uts/ipc namespace links, and
 * 1 if /proc is mounted with subset=pid. Built static. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
static int fails;
static void need(int ok, const char *what) { if (!ok) { fprintf(stderr, "floor probe: %s\n", what); fails++; } }
static int status_has(const char *line) {
    char buf[256]; int found = 0; FILE *f = fopen("/proc/self/status", "r");
    if (!f) return 0;
    while (fgets(buf, sizeof buf, f)) if (!strncmp(buf, line, strlen(line))) found = 1;
    fclose(f); return found;
}
int main(int argc, char **argv) {
    if (argc != 7) return 2;
    int subset = atoi(argv[6]);
    int step = atoi(argv[1]); unsigned uid = strtoul(argv[2], 0, 10);
    struct statfs fs; struct statvfs vfs; struct stat st;
    need(getpid() == (step >= 5 ? 2 : 1), "pid in the new PID namespace");
    if (step >= 1) need(access("/true", X_OK) == 0 && access("/usr", F_OK) != 0, "the floor's root");
    if (step >= 2) need(statfs("/proc", &fs) == 0 && fs.f_type == 0x9fa0 && statvfs("/proc", &vfs) == 0
                        && (vfs.f_flag & ST_RDONLY) && (vfs.f_flag & ST_NOSUID) && (vfs.f_flag & ST_NOEXEC)
                        && access("/proc/self/status", R_OK) == 0, "a read-only procfs");
    if (step >= 3 && subset) need(access("/proc/cmdline", F_OK) != 0 && access("/proc/kallsyms", F_OK) != 0
                                  && access("/proc/sys", F_OK) != 0, "proc subset=pid");
    if (step >= 3 && !subset) need(stat("/proc/cmdline", &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3), "/proc/cmdline masked");
    if (step >= 4) need(statfs("/tmp", &fs) == 0 && fs.f_type == 0x01021994, "a tmpfs /tmp");
    if (step >= 5) need(getppid() == 1, "init as parent");
    struct rlimit core, nproc;
    if (step >= 6) need(getrlimit(RLIMIT_CORE, &core) == 0 && core.rlim_cur == 0 && getrlimit(RLIMIT_NPROC, &nproc) == 0
                        && nproc.rlim_max == 64, "rlimits");
    if (step >= 6) need(getuid() == uid && geteuid() == uid && getgid() == uid && getgroups(0, 0) == 0
                        && status_has("NoNewPrivs:\t1") && status_has("Seccomp:\t2"), "credentials, NNP, seccomp");
    if (step >= 7) need(status_has("CapBnd:\t0000000000000000") && status_has("TracerPid:\t1"), "empty bounding set, traced by init");
    const char *kinds[3] = {"/proc/self/ns/net", "/proc/self/ns/uts", "/proc/self/ns/ipc"};
    /* Step 1 has no /proc to look in. */
    for (int i = 0; i < 3 && step != 1; i++) {
        char link[64] = {0};
        int n = readlink(kinds[i], link, sizeof link - 1);
        /* Before step 8 a run shares the host's; from it on, never. */
        need(n > 0 && (strcmp(link, argv[3 + i]) != 0) == (step >= 8), kinds[i]);
    }
    return fails ? 1 : 0;
}
