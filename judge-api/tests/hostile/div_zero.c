int main(void) {
    volatile int zero = 0;
    volatile int x = 42 / zero;
    return x;
}
