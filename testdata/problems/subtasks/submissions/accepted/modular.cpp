// Halve the even factor first, then multiply residues (each < 2^30, product fits in 64 bits).
#include <iostream>

int main() {
    const unsigned long long M = 1000000007ULL;
    unsigned long long n;
    std::cin >> n;
    unsigned long long a = n, b = n + 1;
    if (a % 2 == 0) a /= 2;
    else b /= 2;
    std::cout << (a % M) * (b % M) % M << '\n';
}
