// Checker for "Polygon Sum" following testlib's protocol without testlib.h:
//   check <input> <output> <answer>
// exit 0 OK, 1 wrong answer, 2 presentation error, 3 checker failure; the
// message goes to stderr.
#include <cstdio>
#include <cstdlib>

#include "verdicts.h"

[[noreturn]] static void quit(Verdict verdict, const char *format, long long a = 0, long long b = 0) {
    std::fprintf(stderr, format, a, b);
    std::fputc('\n', stderr);
    std::exit(verdict);
}

int main(int argc, char **argv) {
    if (argc < 4) quit(FAIL, "usage: check input output answer");
    FILE *output = std::fopen(argv[2], "r");
    FILE *answer = std::fopen(argv[3], "r");
    if (!output || !answer) quit(FAIL, "cannot open the output or the answer");
    long long expected = 0, found = 0;
    if (std::fscanf(answer, "%lld", &expected) != 1) quit(FAIL, "the answer file holds no integer");
    if (std::fscanf(output, "%lld", &found) != 1) quit(PRESENTATION_ERROR, "expected an integer");
    char extra = 0;
    if (std::fscanf(output, " %c", &extra) == 1) quit(PRESENTATION_ERROR, "extra output after the sum");
    if (found != expected) quit(WRONG_ANSWER, "expected %lld, found %lld", expected, found);
    quit(OK, "the sum is %lld", found);
}
