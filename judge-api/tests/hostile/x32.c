/* Makes an x32-ABI syscall (getpid | __X32_SYSCALL_BIT). */
#include <stdio.h>
#include <unistd.h>
#include <sys/syscall.h>

int main(void) {
    long rc = syscall(0x40000000 | 39);
    printf("survived rc=%ld\n", rc);
    return 0;
}
