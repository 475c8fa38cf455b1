//! Inline tests over HTTP with a checker given as source (`"checker":
//! {"protocol", "language", "source"}`): a testlib checker's verdicts, its
//! stderr as feedback, points (exit 7) scaling the score, `_fail` (exit 3) as
//! IE; a Kattis-protocol checker; and checkers that are the caller's mistake.
//! The real `judge serve`, started inside `unshare --pid --fork --kill-child
//! --mount-proc` by `common/serve.rs`.

#[path = "server/fixture.rs"]
mod fixture;

use fixture::Server;
use reqwest::StatusCode;
use serde_json::{json, Value};

/// Prints the first word of its input: the tests' inputs say what the checker sees.
const ECHO: &str = "#include <stdio.h>\nint main(){char w[64];if(scanf(\"%63s\",w)==1)puts(w);return 0;}";

/// testlib's exit codes without testlib.h: `right` is OK, `half` earns half the
/// points (7), `fail` is the checker's own failure (3, testlib's `_fail`),
/// anything else WA (1) with a message; the message goes to stderr.
const TESTLIB_CHECKER: &str = r#"
#include <stdio.h>
#include <string.h>
int main(int argc, char **argv) {
    char word[64] = "";
    FILE *out = argc > 2 ? fopen(argv[2], "r") : NULL;
    if (!out || fscanf(out, "%63s", word) != 1) { fprintf(stderr, "no output\n"); return 2; }
    if (!strcmp(word, "right")) { fprintf(stderr, "fine\n"); return 0; }
    if (!strcmp(word, "half")) { fprintf(stderr, "points 0.5 half of it\n"); return 7; }
    if (!strcmp(word, "fail")) { fprintf(stderr, "FAIL the answer file is broken\n"); return 3; }
    fprintf(stderr, "expected right, found %s\n", word);
    return 1;
}
"#;

/// A Kattis output validator in Python: accepts `right` (42), rejects anything
/// else (43) with a judge message in the feedback directory.
const KATTIS_CHECKER: &str = r#"
import sys
word = sys.stdin.read().split()
if word == ["right"]:
    sys.exit(42)
with open(sys.argv[3] + "/judgemessage.txt", "w") as f:
    f.write("wanted right, got %s" % " ".join(word))
sys.exit(43)
"#;

fn submission(words: &[&str], checker: Value) -> Value {
    let tests: Vec<Value> = words.iter().map(|w| json!({"input": format!("{w}\n"), "answer": "right\n"})).collect();
    json!({"language": "c", "source": ECHO, "tests": tests, "limits": {"time_limit": 2.0, "memory": 64}, "checker": checker})
}

fn testlib() -> Value {
    json!({"protocol": "testlib", "language": "c", "source": TESTLIB_CHECKER})
}

fn tests_of(result: &Value) -> Vec<(String, String)> {
    let tests = result["tests"].as_array().unwrap_or_else(|| panic!("no tests in {result}"));
    tests
        .iter()
        .map(|t| (t["verdict"].as_str().unwrap().to_string(), t["feedback"].as_str().unwrap_or("").to_string()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_testlib_checker_judges_gives_feedback_and_points() {
    let server = Server::start(&[]).await;

    let accepted = server.submit(&submission(&["right", "right"], testlib())).await;
    assert_eq!(accepted.verdict(), "AC", "{}", accepted.text);
    assert_eq!(accepted.json["score"].as_f64(), Some(1.0));
    assert_eq!(tests_of(&accepted.json)[0], ("AC".into(), "fine".into()));

    let wrong = server.submit(&submission(&["right", "wrong"], testlib())).await;
    assert_eq!(wrong.verdict(), "WA", "{}", wrong.text);
    assert_eq!(tests_of(&wrong.json)[1], ("WA".into(), "expected right, found wrong".into()));
    assert_eq!(wrong.json["score"].as_f64(), Some(0.5), "one test of two: {}", wrong.text);

    // Half the points on one test of two: a quarter of the score; every test runs.
    let half = server.submit(&submission(&["half", "right"], testlib())).await;
    assert_eq!(half.verdict(), "WA", "{}", half.text);
    assert_eq!(half.json["tests"][0]["partial"].as_f64(), Some(0.5), "{}", half.text);
    assert_eq!(half.json["tests"][1]["verdict"], "AC", "{}", half.text);
    assert_eq!(half.json["score"].as_f64(), Some(0.75), "{}", half.text);

    // The checker's own failure is the judge's problem, not the contestant's WA.
    let failed = server.submit(&submission(&["fail"], testlib())).await;
    assert_eq!(failed.verdict(), "IE", "{}", failed.text);
    assert_eq!(failed.json["score"].as_f64(), Some(0.0));

    // Not waiting: the checker is stored with the job and used when it is graded.
    let mut queued = submission(&["right", "wrong"], testlib());
    queued["wait"] = json!(false);
    let queued = server.submit(&queued).await;
    assert_eq!(queued.status, StatusCode::ACCEPTED, "{}", queued.text);
    let (done, _) = server.wait_done(queued.json["id"].as_str().unwrap()).await;
    assert_eq!(done.json["verdict"], "WA", "{}", done.text);
    assert_eq!(tests_of(&done.json)[1].1, "expected right, found wrong");
    assert_eq!(server.new_5xx().await, 0.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kattis_checker_given_inline_judges_with_its_judge_message() {
    let server = Server::start(&[]).await;
    let kattis = json!({"protocol": "kattis", "language": "python3", "source": KATTIS_CHECKER});
    let accepted = server.submit(&submission(&["right"], kattis.clone())).await;
    assert_eq!(accepted.verdict(), "AC", "{}", accepted.text);
    assert_eq!(accepted.json["score"].as_f64(), Some(1.0));
    let wrong = server.submit(&submission(&["right", "left"], kattis)).await;
    assert_eq!(wrong.verdict(), "WA", "{}", wrong.text);
    assert_eq!(tests_of(&wrong.json)[1], ("WA".into(), "wanted right, got left".into()));
    assert_eq!(wrong.json["score"].as_f64(), Some(0.0), "pass-fail like any inline problem");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkers_that_cannot_be_used_are_the_callers_mistake() {
    let server = Server::start(&[]).await;

    let broken = json!({"protocol": "testlib", "language": "c", "source": "int main() { this is not C }"});
    let answer = server.submit(&submission(&["right"], broken)).await;
    answer.error(StatusCode::UNPROCESSABLE_ENTITY, "checker");
    answer.error(StatusCode::UNPROCESSABLE_ENTITY, "does not compile");
    // Named by its own file name, not by where the server keeps it.
    assert!(!answer.text.contains("judge-checker-"), "the server's temp path leaked: {}", answer.text);

    let ruby = json!({"protocol": "testlib", "language": "ruby", "source": "exit 0"});
    server.submit(&submission(&["right"], ruby)).await.error(StatusCode::BAD_REQUEST, "checker.language \"ruby\"");
    let unknown = json!({"protocol": "testlib", "language": "cobol", "source": "x"});
    server.submit(&submission(&["right"], unknown)).await.error(StatusCode::BAD_REQUEST, "checkers may be written in");
    let protocol = json!({"protocol": "spj", "language": "c", "source": "x"});
    server.submit(&submission(&["right"], protocol)).await.error(StatusCode::BAD_REQUEST, "unknown variant");

    let mut both = submission(&["right"], testlib());
    both["validator"] = json!({"case_sensitive": true});
    server.submit(&both).await.error(StatusCode::BAD_REQUEST, "not both");
    let named = json!({"language": "c", "source": ECHO, "problem": "sum", "checker": testlib()});
    server.submit(&named).await.error(StatusCode::BAD_REQUEST, "\"checker\" go with inline");
    assert_eq!(server.new_5xx().await, 0.0);
}
