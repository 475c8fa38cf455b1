// Output validator for "Split the Pair" (Kattis/problemtools interface):
//   checker input_file answer_file feedback_dir < team_output
// ACCEPTED (42) or REJECTED (43, the reason in feedback_dir/judgemessage.txt);
// any other exit means the validator itself failed.
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>

#include "verdicts.h"

static std::string feedback_dir;

[[noreturn]] static void finish(Verdict verdict, const std::string &why) {
    if (!why.empty()) std::ofstream(feedback_dir + "/judgemessage.txt") << why << '\n';
    std::exit(verdict);
}

// A positive integer of at most 18 digits, or 0 when the token is not one.
static unsigned long long positive(const std::string &token) {
    if (token.empty() || token.size() > 18) return 0;
    unsigned long long value = 0;
    for (char c : token) {
        if (!std::isdigit(static_cast<unsigned char>(c))) return 0;
        value = value * 10 + static_cast<unsigned long long>(c - '0');
    }
    return value;
}

int main(int argc, char **argv) {
    if (argc < 4) return 1;
    feedback_dir = argv[3];
    unsigned long long n = 0;
    if (!(std::ifstream(argv[1]) >> n) || n < 2) return 1;
    std::string first, second, extra;
    if (!(std::cin >> first >> second)) finish(REJECTED, "expected two integers");
    if (std::cin >> extra) finish(REJECTED, "too much output: expected exactly two integers");
    unsigned long long x = positive(first), y = positive(second);
    if (x == 0 || y == 0) finish(REJECTED, "both values must be positive integers below 10^18");
    if (x > y) finish(REJECTED, "x = " + first + " is larger than y = " + second);
    if (x + y != n) finish(REJECTED, first + " + " + second + " is not " + std::to_string(n));
    finish(ACCEPTED, "");
}
