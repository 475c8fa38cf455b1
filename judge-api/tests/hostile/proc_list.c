/* Lists the pids visible in /proc as "pids=1,2,...". */
#include <ctype.h>
#include <dirent.h>
#include <stdio.h>

int main(void) {
    DIR *d = opendir("/proc");
    if (!d) {
        perror("opendir /proc");
        return 1;
    }
    printf("pids=");
    int first = 1;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!isdigit((unsigned char)e->d_name[0]))
            continue;
        printf("%s%s", first ? "" : ",", e->d_name);
        first = 0;
    }
    printf("\n");
    return 0;
}
