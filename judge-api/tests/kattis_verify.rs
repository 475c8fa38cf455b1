//! `judge verify` on a 2023-07 package built here: the validator one directory down in
//! `output_validator/<name>/` with its header, the `rejected/` and `brute_force/`
//! folders, per-group rules from `submissions.yaml`, a Python 2 file skipped with its
//! reason, and a broken promise reported with why. Every judge process runs inside
//! `unshare --pid --fork --kill-child --mount-proc`.

use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::Value;

struct Package(tempfile::TempDir);

impl Package {
    fn file(&self, rel: &str, text: &str) -> &Package {
        let path = self.0.path().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
        self
    }

    fn path(&self) -> &Path {
        self.0.path()
    }
}

/// Prints 2n; `cutoff` > 0 makes n > cutoff take `bad` ("loop" or "wrong").
fn doubler(cutoff: u64, bad: &str) -> String {
    let on_big = match bad {
        "loop" => "for (volatile unsigned long i = 0;; i++) {}",
        _ => "puts(\"0\"); return 0;",
    };
    format!(
        "#include <stdio.h>\nint main(void) {{ unsigned long n; if (scanf(\"%lu\", &n) != 1) return 1;\n\
         if ({cutoff} > 0 && n > {cutoff}) {{ {on_big} }}\nprintf(\"%lu\\n\", 2 * n); return 0; }}\n"
    )
}

fn package() -> Package {
    let dir = tempfile::Builder::new().prefix("judge-kattis-").tempdir().unwrap();
    let pkg = Package(dir);
    pkg.file(
        "problem.yaml",
        "problem_format_version: 2023-07-draft\nname: Double\nuuid: 6b1e4b8e-2f7a-4c55-9d0e-3c1f2a7b9e10\n\
         limits:\n  time_limit: 1\n",
    );
    for (test, n) in [("sample/1", 3), ("secret/easy/1", 10), ("secret/easy/2", 1000), ("secret/hard/1", 5000)] {
        pkg.file(&format!("data/{test}.in"), &format!("{n}\n"));
        pkg.file(&format!("data/{test}.ans"), &format!("{}\n", 2 * n));
    }
    // The validator is one directory down and includes a header beside it.
    pkg.file("output_validator/checker/verdicts.h", "#define ACCEPT 42\n#define REJECT 43\n");
    pkg.file(
        "output_validator/checker/checker.cpp",
        "#include <cstdio>\n#include \"verdicts.h\"\nint main(int argc, char **argv) {\n\
         if (argc < 4) return 1; FILE *a = fopen(argv[2], \"r\"); long want, got;\n\
         if (!a || fscanf(a, \"%ld\", &want) != 1) return 1;\n\
         return scanf(\"%ld\", &got) == 1 && got == want ? ACCEPT : REJECT; }\n",
    );
    pkg.file("submissions/accepted/double.c", &doubler(0, ""));
    pkg.file("submissions/accepted/legacy.py", "#!/usr/bin/env python2\nprint 2 * input()\n");
    pkg.file("submissions/rejected/small_only.c", &doubler(1000, "wrong"));
    pkg.file("submissions/brute_force/slow.c", &doubler(1000, "loop"));
    pkg.file("submissions/wrong_answer/easy_only.c", &doubler(1000, "wrong"));
    pkg.file(
        "submissions/submissions.yaml",
        "wrong_answer/easy_only.c:\n  secret/easy:\n    permitted: [AC]\n  secret/hard:\n    required: [WA]\n",
    );
    pkg
}

fn verify(pkg: &Package) -> (i32, Vec<Value>, String) {
    let output = Command::new("timeout")
        .args(["-s", "KILL", "300", "unshare", "--pid", "--fork", "--kill-child", "--mount-proc"])
        .arg(env!("CARGO_BIN_EXE_judge"))
        .args(["verify", "--json"])
        .arg(pkg.path())
        .stdin(Stdio::null())
        .output()
        .expect("spawning judge");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let lines =
        stdout.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l:?}: {e}\n{stderr}"))).collect();
    (output.status.code().unwrap_or(-1), lines, stderr)
}

fn line<'a>(lines: &'a [Value], file_end: &str) -> &'a Value {
    lines
        .iter()
        .find(|l| l["file"].as_str().is_some_and(|f| f.ends_with(file_end)))
        .unwrap_or_else(|| panic!("no line for {file_end}: {lines:#?}"))
}

#[test]
fn a_2023_07_package_keeps_its_promises() {
    let pkg = package();
    let (code, lines, stderr) = verify(&pkg);
    assert_eq!(code, 0, "{lines:#?}\n{stderr}");
    assert_eq!(lines.len(), 5, "{lines:#?}");
    for (file, verdict) in [
        ("accepted/double.c", "AC"),
        ("rejected/small_only.c", "WA"),
        ("brute_force/slow.c", "TLE"),
        ("wrong_answer/easy_only.c", "WA"),
    ] {
        let l = line(&lines, file);
        assert_eq!(l["verdict"], verdict, "{l}");
        assert_eq!(l["ok"], true, "{l}");
    }
    let skipped = line(&lines, "accepted/legacy.py");
    assert!(skipped["verdict"].is_null(), "{skipped}");
    assert!(skipped["skipped"].as_str().unwrap().contains("Python 2"), "{skipped}");
    assert!(line(&lines, "wrong_answer/easy_only.c")["expected"].as_str().unwrap().contains("secret/hard: WA"));
}

#[test]
fn a_broken_promise_says_why_and_fails_verify() {
    let pkg = package();
    // The brute force gives a wrong answer now: brute_force/ does not permit WA. And
    // a per-group rule the submission breaks.
    pkg.file("submissions/brute_force/slow.c", &doubler(1000, "wrong"));
    pkg.file("submissions/submissions.yaml", "wrong_answer/easy_only.c:\n  secret/hard:\n    permitted: [AC]\n");
    let (code, lines, stderr) = verify(&pkg);
    assert_eq!(code, 1, "{lines:#?}\n{stderr}");
    let brute = line(&lines, "brute_force/slow.c");
    assert_eq!(brute["ok"], false, "{brute}");
    assert!(brute["why"].as_str().unwrap().contains("secret/hard/1 got WA, not permitted"), "{brute}");
    let easy = line(&lines, "wrong_answer/easy_only.c");
    assert_eq!(easy["ok"], false, "{easy}");
    assert!(easy["why"].as_str().unwrap().contains("in secret/hard"), "{easy}");
    assert_eq!(line(&lines, "accepted/double.c")["ok"], true);
}
