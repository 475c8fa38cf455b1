// Interactor for "Guess the Number" (Kattis/problemtools interactive interface):
//   interactor input_file answer_file feedback_dir [flags...]
// stdin is the submission's stdout, stdout is the submission's stdin.
// The secret number is the only token of input_file.
// Exit 42 = found within 30 guesses, 43 = wrong answer (reason in
// feedback_dir/judgemessage.txt); any other exit code is a validator failure.
#include <cctype>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

static std::string feedback_dir;
static const int MAX_GUESSES = 30;
static const long long MAX_VALUE = 1000000000;

[[noreturn]] static void finish(int code, const std::string &msg) {
    if (!msg.empty()) {
        std::ofstream f(feedback_dir + "/judgemessage.txt", std::ios::app);
        f << msg << '\n';
    }
    std::fclose(stdout);
    std::exit(code);
}

[[noreturn]] static void reject(const std::string &msg) { finish(43, msg); }

// Reads one whitespace-separated token (at most 64 chars) from stdin; false on EOF.
static bool read_token(std::string &tok) {
    tok.clear();
    int c;
    while ((c = std::getchar()) != EOF && std::isspace(c)) {}
    if (c == EOF) return false;
    do {
        if (tok.size() < 64) tok.push_back(static_cast<char>(c));
    } while ((c = std::getchar()) != EOF && !std::isspace(c));
    return true;
}

static void reply(const char *word) {
    // A submission that exits early closes the pipe: writing must not kill us.
    if (std::printf("%s\n", word) < 0 || std::fflush(stdout) != 0) reject("submission stopped reading its input");
}

int main(int argc, char **argv) {
    std::signal(SIGPIPE, SIG_IGN);
    if (argc < 4) {
        std::fprintf(stderr, "usage: interactor input answer feedback_dir\n");
        return 1;
    }
    feedback_dir = argv[3];
    std::ifstream in(argv[1]);
    long long secret;
    if (!(in >> secret) || secret < 1 || secret > MAX_VALUE) {
        std::fprintf(stderr, "bad input file\n");
        return 1;
    }

    for (int guesses = 1; guesses <= MAX_GUESSES; guesses++) {
        std::string tok;
        if (!read_token(tok))
            reject("end of output after " + std::to_string(guesses - 1) + " guess(es), number not found");
        long long g = 0;
        bool ok = !tok.empty() && tok.size() <= 10;
        for (char c : tok) {
            if (!std::isdigit(static_cast<unsigned char>(c))) ok = false;
            else g = g * 10 + (c - '0');
        }
        if (!ok) reject("guess " + std::to_string(guesses) + " is not an integer: '" + tok + "'");
        if (g < 1 || g > MAX_VALUE) reject("guess " + std::to_string(g) + " out of range [1, 1e9]");
        if (g == secret) {
            reply("correct");
            finish(42, "");
        }
        // No reply after the last allowed wrong guess: the submission reads EOF
        // (rather than being invited to write a 31st guess into a closed pipe).
        if (guesses == MAX_GUESSES) break;
        reply(secret < g ? "lower" : "higher");
    }
    reject("number not found within " + std::to_string(MAX_GUESSES) + " guesses");
}
