// Too slow: adds b one unit at a time. Fine for the sample, hopeless for |b| ~ 1e18.
#include <iostream>

int main() {
    long long a, b;
    std::cin >> a >> b;
    volatile long long s = a;  // volatile: keep the compiler from closing the loop
    long long step = b >= 0 ? 1 : -1;
    for (long long i = 0; i != b; i += step) s = s + step;
    std::cout << s << '\n';
}
