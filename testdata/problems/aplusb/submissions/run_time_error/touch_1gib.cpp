// Allocates and touches 1 GiB in 64 MiB chunks (memory limit is 256 MiB).
// If allocation is refused, operator new throws bad_alloc -> abort.
#include <cstring>
#include <iostream>
#include <vector>

int main() {
    long long a, b;
    std::cin >> a >> b;
    const std::size_t chunk = std::size_t(64) << 20;
    std::vector<char *> chunks;
    for (int i = 0; i < 16; i++) {
        char *p = new char[chunk];
        std::memset(p, i + 1, chunk);
        chunks.push_back(p);
    }
    unsigned long long check = 0;
    for (std::size_t i = 0; i < chunks.size(); i++) check += (unsigned char)chunks[i][i * 4096 + 7];
    std::cout << a + b + (check == 0) << '\n';
}
