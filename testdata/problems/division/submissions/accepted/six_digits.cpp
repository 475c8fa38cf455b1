// Only 6 decimals: the error is at most 5e-7, still within the 1e-6 tolerance.
#include <iomanip>
#include <iostream>

int main() {
    long long a, b;
    std::cin >> a >> b;
    std::cout << std::fixed << std::setprecision(6) << double(a) / double(b) << '\n';
}
