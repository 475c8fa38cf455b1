// Interactor for "Polygon Guess" following testlib's protocol without testlib.h:
//   interactor <input> <tout> <answer>
// stdin is the submission's output, stdout its input. The secret number (1 to
// 10^6) is the input's only token. Each guess is answered "lower", "higher" or
// "correct"; after "correct" the number of guesses goes to tout for the checker.
// Exit 0 OK, 1 wrong answer, 2 presentation error, 3 failure; message on stderr.
#include <csignal>
#include <cstdio>
#include <cstdlib>

enum Verdict { OK = 0, WRONG_ANSWER = 1, PRESENTATION_ERROR = 2, FAIL = 3 };
static const int MAX_GUESSES = 100;

[[noreturn]] static void quit(Verdict verdict, const char *message, long long value = 0) {
    std::fprintf(stderr, message, value);
    std::fputc('\n', stderr);
    std::exit(verdict);
}

int main(int argc, char **argv) {
    std::signal(SIGPIPE, SIG_IGN);  // a submission that hangs up is its own fault
    if (argc < 4) quit(FAIL, "usage: interactor input tout answer");
    FILE *input = std::fopen(argv[1], "r");
    long long secret = 0;
    if (!input || std::fscanf(input, "%lld", &secret) != 1) quit(FAIL, "the input holds no number");
    FILE *tout = std::fopen(argv[2], "w");
    if (!tout) quit(FAIL, "cannot write tout");
    for (int guesses = 1; guesses <= MAX_GUESSES; guesses++) {
        long long guess = 0;
        int read = std::scanf("%lld", &guess);
        if (read == EOF) quit(WRONG_ANSWER, "the program ended before finding the number");
        if (read != 1) quit(PRESENTATION_ERROR, "expected a number");
        if (guess == secret) {
            std::printf("correct\n");
            std::fflush(stdout);
            std::fprintf(tout, "%d\n", guesses);
            std::fclose(tout);
            quit(OK, "found in %lld guesses", guesses);
        }
        std::printf(guess > secret ? "lower\n" : "higher\n");
        std::fflush(stdout);
    }
    quit(WRONG_ANSWER, "more than %lld guesses", MAX_GUESSES);
}
