// Output validator for "Split the Number" (Kattis/problemtools interface):
//   checker input_file answer_file feedback_dir [flags...] < team_output
// Exit 42 = accepted, 43 = wrong answer (reason in feedback_dir/judgemessage.txt).
// Any other exit code means the validator itself failed (judge error).
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

static std::string feedback_dir;

[[noreturn]] static void finish(int code, const std::string &msg) {
    if (!msg.empty()) {
        std::ofstream f(feedback_dir + "/judgemessage.txt", std::ios::app);
        f << msg << '\n';
    }
    std::exit(code);
}

[[noreturn]] static void reject(const std::string &msg) { finish(43, msg); }

// Parses a positive decimal integer of at most 19 digits; false on anything else.
static bool parse_positive(const std::string &tok, unsigned long long &out) {
    if (tok.empty() || tok.size() > 19) return false;
    unsigned long long v = 0;
    for (char c : tok) {
        if (!std::isdigit(static_cast<unsigned char>(c))) return false;
        v = v * 10 + static_cast<unsigned long long>(c - '0');
    }
    out = v;
    return v > 0;
}

int main(int argc, char **argv) {
    if (argc < 4) {
        std::cerr << "usage: checker input answer feedback_dir < team_output\n";
        return 1;
    }
    feedback_dir = argv[3];

    std::ifstream in(argv[1]);
    unsigned long long n = 0;
    if (!(in >> n) || n < 2) {
        std::cerr << "bad input file\n";
        return 1;
    }

    std::string all((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
    std::istringstream ss(all);
    std::vector<std::string> tok;
    for (std::string t; ss >> t;) {
        tok.push_back(t);
        if (tok.size() > 2) reject("too much output: expected exactly two integers");
    }
    if (tok.size() < 2) reject("expected two integers, got " + std::to_string(tok.size()) + " token(s)");

    unsigned long long x, y;
    if (!parse_positive(tok[0], x)) reject("first value '" + tok[0].substr(0, 40) + "' is not a positive integer");
    if (!parse_positive(tok[1], y)) reject("second value '" + tok[1].substr(0, 40) + "' is not a positive integer");
    // Bound each value by n first so that x + y cannot wrap around 2^64.
    if (x >= n || y >= n) reject("value " + std::to_string(x >= n ? x : y) + " is not smaller than n = " + std::to_string(n));
    if (x + y != n)
        reject(std::to_string(x) + " + " + std::to_string(y) + " = " + std::to_string(x + y) + ", expected " +
               std::to_string(n));
    finish(42, "");
}
