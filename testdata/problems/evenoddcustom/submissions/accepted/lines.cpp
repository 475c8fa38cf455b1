// Yet another valid answer, one number per line: n-1 then 1.
#include <iostream>

int main() {
    long long n;
    std::cin >> n;
    std::cout << n - 1 << '\n' << 1 << '\n';
}
