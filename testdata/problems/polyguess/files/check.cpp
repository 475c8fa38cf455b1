// Checker for "Polygon Guess" (testlib protocol, no testlib.h):
//   check <input> <tout> <answer>
// tout holds the guesses the interactor counted, the answer the most allowed.
#include <cstdio>
#include <cstdlib>

[[noreturn]] static void quit(int code, const char *message, long long a = 0, long long b = 0) {
    std::fprintf(stderr, message, a, b);
    std::fputc('\n', stderr);
    std::exit(code);
}

int main(int argc, char **argv) {
    if (argc < 4) quit(3, "usage: check input output answer");
    FILE *tout = std::fopen(argv[2], "r");
    FILE *answer = std::fopen(argv[3], "r");
    long long used = 0, allowed = 0;
    if (!answer || std::fscanf(answer, "%lld", &allowed) != 1) quit(3, "the answer holds no limit");
    if (!tout || std::fscanf(tout, "%lld", &used) != 1) quit(3, "the interactor wrote no count");
    if (used > allowed) quit(1, "%lld guesses, at most %lld allowed", used, allowed);
    quit(0, "%lld guesses", used);
}
