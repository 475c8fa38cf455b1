//! Polygon packages and the testlib protocol end to end through `judge grade`:
//! points per group, partial points, a checker's FAIL as IE, presentation errors,
//! an interactor's tout compared by a standard checker, and a Kattis package whose
//! validator speaks testlib. Every judge process runs inside
//! `unshare --pid --fork --kill-child --mount-proc`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

fn problems() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/problems")
}

/// `judge grade --json --all PROBLEM SOURCE` in a throwaway PID namespace; the result.
fn grade(problem: &Path, source: &Path) -> Value {
    let output = Command::new("timeout")
        .args(["-s", "KILL", "300", "unshare", "--pid", "--fork", "--kill-child", "--mount-proc"])
        .arg(env!("CARGO_BIN_EXE_judge"))
        .args(["grade", "--json", "--all"])
        .args([problem, source])
        .stdin(Stdio::null())
        .output()
        .expect("spawning judge");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout.lines().next().unwrap_or_else(|| {
        panic!("no result from judge grade: {}", String::from_utf8_lossy(&output.stderr));
    });
    serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

fn verdicts(result: &Value) -> Vec<&str> {
    result["tests"].as_array().unwrap().iter().map(|t| t["verdict"].as_str().unwrap()).collect()
}

fn feedback(result: &Value, test: usize) -> &str {
    result["tests"][test]["feedback"].as_str().unwrap_or("")
}

/// Writes `files` (path, text) under a fresh directory.
fn package(files: &[(&str, &str)]) -> tempfile::TempDir {
    let root = tempfile::Builder::new().prefix("judge-polygon-").tempdir().unwrap();
    for (rel, text) in files {
        let path = root.path().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    root
}

#[test]
fn polysum_scores_groups_by_their_points_policy() {
    let dir = problems().join("polysum");
    let main = grade(&dir, &dir.join("solutions/sum.cpp"));
    assert_eq!((main["verdict"].as_str(), main["score"].as_f64()), (Some("AC"), Some(100.0)));
    let int32 = grade(&dir, &dir.join("solutions/int32.c"));
    assert_eq!(verdicts(&int32), ["AC", "AC", "AC", "WA", "WA"]);
    assert_eq!(int32["score"].as_f64(), Some(40.0), "group 1 complete, group 2 all wrong");
    assert_eq!(feedback(&int32, 3), "expected 4000000001, found -294967295");
    let silent = grade(&dir, &dir.join("solutions/silent.c"));
    assert_eq!(feedback(&silent, 0), "presentation error: expected an integer");
}

/// A checker with every testlib ending: the output `right` is OK, `half` earns half
/// the points (exit 7), `wrong` is WA, `fail` makes the checker fail (exit 3).
const CHECKER: &str = r#"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
int main(int argc, char **argv) {
    char word[16] = "";
    FILE *out = fopen(argv[2], "r");
    if (!out || fscanf(out, "%15s", word) != 1) { fprintf(stderr, "no output\n"); return 2; }
    if (!strcmp(word, "right")) { fprintf(stderr, "fine\n"); return 0; }
    if (!strcmp(word, "half")) { fprintf(stderr, "points 0.5 half of it\n"); return 7; }
    if (!strcmp(word, "fail")) { fprintf(stderr, "the answer file is broken\n"); return 3; }
    fprintf(stderr, "expected right, found %s\n", word);
    return 1;
}
"#;

/// Prints the word its input names.
const ECHO: &str = "#include <stdio.h>\nint main(void){char w[16];scanf(\"%15s\",w);puts(w);return 0;}\n";

#[test]
fn testlib_partial_points_scale_a_test_and_a_checker_failure_is_an_internal_error() {
    let xml = r#"<?xml version="1.0"?>
<problem short-name="partial"><judging input-file="" output-file=""><testset name="tests">
  <time-limit>2000</time-limit><memory-limit>268435456</memory-limit><test-count>4</test-count>
  <input-path-pattern>tests/%d</input-path-pattern><answer-path-pattern>tests/%d.a</answer-path-pattern>
  <tests><test points="10"/><test points="10"/><test points="10"/><test points="10"/></tests>
</testset></judging>
<assets><checker type="testlib"><source path="files/check.c" type="c.gcc"/></checker></assets></problem>"#;
    let pkg = package(&[
        ("problem.xml", xml),
        ("files/check.c", CHECKER),
        ("tests/1", "right\n"),
        ("tests/2", "half\n"),
        ("tests/3", "wrong\n"),
        ("tests/4", "fail\n"),
        ("tests/1.a", "-\n"),
        ("tests/2.a", "-\n"),
        ("tests/3.a", "-\n"),
        ("tests/4.a", "-\n"),
        ("echo.c", ECHO),
    ]);
    let result = grade(pkg.path(), &pkg.path().join("echo.c"));
    assert_eq!(verdicts(&result), ["AC", "WA", "WA", "IE"]);
    assert_eq!(result["tests"][1]["partial"].as_f64(), Some(0.5));
    assert_eq!(result["score"].as_f64(), Some(15.0));
    assert_eq!(feedback(&result, 2), "expected right, found wrong");
    assert!(feedback(&result, 3).contains("the answer file is broken"), "{}", feedback(&result, 3));
    assert_eq!(result["verdict"], "WA", "the first failing test decides");
}

#[test]
fn a_standard_checker_compares_the_interactors_tout_with_the_answer() {
    let xml = r#"<?xml version="1.0"?>
<problem short-name="tout"><judging input-file="" output-file=""><testset name="tests">
  <time-limit>2000</time-limit><memory-limit>268435456</memory-limit><test-count>2</test-count>
  <input-path-pattern>tests/%02d</input-path-pattern><answer-path-pattern>tests/%02d.a</answer-path-pattern>
</testset></judging>
<assets><checker name="std::wcmp.cpp" type="testlib"/>
<interactor><source path="files/interactor.cpp"/></interactor></assets></problem>"#;
    let interactor = std::fs::read_to_string(problems().join("polyguess/files/interactor.cpp")).unwrap();
    // Binary search guesses 500000 first; 1 takes 19 guesses.
    let pkg = package(&[
        ("problem.xml", xml),
        ("files/interactor.cpp", &interactor),
        ("tests/01", "500000\n"),
        ("tests/01.a", "1\n"),
        ("tests/02", "1\n"),
        ("tests/02.a", "1\n"),
    ]);
    let search = problems().join("polyguess/solutions/binary_search.c");
    let result = grade(pkg.path(), &search);
    assert_eq!(verdicts(&result), ["AC", "WA"]);
    assert!(feedback(&result, 1).contains("19"), "the tout 19 differs from the answer 1: {}", feedback(&result, 1));
}

#[test]
fn a_kattis_package_can_run_its_validator_by_the_testlib_protocol() {
    let pkg = package(&[
        ("problem.yaml", "validation: custom\nvalidator_protocol: testlib\n"),
        ("output_validators/check/check.c", CHECKER),
        ("data/secret/1.in", "right\n"),
        ("data/secret/1.ans", "-\n"),
        ("data/secret/2.in", "wrong\n"),
        ("data/secret/2.ans", "-\n"),
        ("echo.c", ECHO),
    ]);
    let result = grade(pkg.path(), &pkg.path().join("echo.c"));
    assert_eq!(verdicts(&result), ["AC", "WA"]);
    assert_eq!(feedback(&result, 1), "expected right, found wrong");
}

#[test]
fn an_interactor_killed_by_a_program_that_stopped_reading_is_a_wrong_answer_not_an_internal_error() {
    let xml = r#"<?xml version="1.0"?>
<problem short-name="pipe"><judging input-file="" output-file=""><testset name="tests">
  <time-limit>2000</time-limit><memory-limit>268435456</memory-limit><test-count>1</test-count>
  <input-path-pattern>tests/%02d</input-path-pattern><answer-path-pattern>tests/%02d.a</answer-path-pattern>
</testset></judging>
<assets><interactor><source path="files/chatty.c"/></interactor></assets></problem>"#;
    // Writes far more than a pipe holds before reading anything; SIGPIPE kills it.
    let chatty = "#include <stdio.h>\nint main(void){for(int i=0;i<1000000;i++)printf(\"%d\\n\",i);\
                  fflush(stdout);return 0;}\n";
    let pkg = package(&[
        ("problem.xml", xml),
        ("files/chatty.c", chatty),
        ("tests/01", "1\n"),
        ("tests/01.a", "\n"),
        ("quit.c", "int main(void){return 0;}\n"),
    ]);
    let result = grade(pkg.path(), &pkg.path().join("quit.c"));
    assert_eq!(verdicts(&result), ["WA"], "{result}");
    assert!(feedback(&result, 0).contains("stopped reading"), "{result}");
}
