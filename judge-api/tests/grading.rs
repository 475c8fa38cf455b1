//! `judge grade` / `judge verify` end to end: every example package verifies,
//! compile-time attacks end as CE without leaking host files, hostile
//! programs get the right verdicts, and bad input gets a clear error.
//! Every judge process runs inside `unshare --pid --fork --kill-child --mount-proc`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, MutexGuard};

use serde_json::Value;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn problems() -> PathBuf {
    repo().join("testdata/problems")
}

/// Held by the test that keeps both cores busy (verify) and by the test that checks CPU
/// figures against a wall-clock limit, so the second never runs starved by the first.
static CPU_BOUND: Mutex<()> = Mutex::new(());

fn cpu_bound() -> MutexGuard<'static, ()> {
    CPU_BOUND.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Runs `judge ARGS` in a throwaway PID namespace, killed after 5 minutes.
fn judge(args: &[&str]) -> Out {
    let output = Command::new("timeout")
        .args(["-s", "KILL", "300", "unshare", "--pid", "--fork", "--kill-child", "--mount-proc"])
        .arg(env!("CARGO_BIN_EXE_judge"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("spawning judge");
    Out {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// A fresh directory, removed on drop.
struct Scratch(tempfile::TempDir);

impl Scratch {
    fn new(label: &str) -> Scratch {
        let dir = tempfile::Builder::new()
            .prefix(&format!("judge-grading-{label}-"))
            .tempdir()
            .unwrap_or_else(|e| panic!("creating a temp dir for {label}: {e}"));
        Scratch(dir)
    }

    fn path(&self) -> &Path {
        self.0.path()
    }

    fn file(&self, name: &str, text: &str) -> PathBuf {
        let path = self.path().join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&path, text).unwrap();
        path
    }
}

/// Grades one source against a package with `--json`; returns the result object.
fn grade_json(problem: &Path, source: &Path, extra: &[&str]) -> Value {
    let mut args = vec!["grade", "--json"];
    args.extend_from_slice(extra);
    let (p, s) = (problem.display().to_string(), source.display().to_string());
    args.push(&p);
    args.push(&s);
    let out = judge(&args);
    assert_eq!(out.code, 0, "judge grade failed: {}\n{}", out.stdout, out.stderr);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 1, "one JSON line expected, got: {}", out.stdout);
    serde_json::from_str(lines[0]).expect("JSON")
}

/// Language definitions like the built-in ones, with tight compile limits.
fn tight_languages(scratch: &Scratch) -> PathBuf {
    let dir = scratch.path().join("languages");
    std::fs::create_dir_all(&dir).unwrap();
    for lang in ["c", "cpp"] {
        let text = std::fs::read_to_string(repo().join(format!("languages/{lang}.toml"))).unwrap();
        std::fs::write(
            dir.join(format!("{lang}.toml")),
            format!("{text}\n[compile_limits]\ncpu = 2\nwall = 4\nmemory_mib = 512\n"),
        )
        .unwrap();
    }
    dir
}

#[test]
fn verify_passes_on_every_example_package() {
    let _cpu = cpu_bound();
    let mut dirs: Vec<String> = std::fs::read_dir(problems())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .map(|p| p.display().to_string())
        .collect();
    dirs.sort();
    assert!(dirs.len() >= 5, "{dirs:?}");
    let mut args = vec!["verify"];
    args.extend(dirs.iter().map(String::as_str));
    let out = judge(&args);
    assert_eq!(out.code, 0, "verify failed:\n{}\n{}", out.stdout, out.stderr);
    assert!(out.stdout.contains(" 0 failed"), "{}", out.stdout);
    assert!(!out.stdout.contains("MISMATCH"), "{}", out.stdout);
    for verdict in ["AC", "WA", "TLE", "MLE", "RE"] {
        assert!(out.stdout.contains(&format!("  {verdict} ")), "no {verdict} row:\n{}", out.stdout);
    }
}

/// Files a Kattis package cannot hold without `verifyproblem` complaining live in
/// `testdata/judge-only/<problem>/<kind>/`: verdicts the format has no folder for (CE,
/// OLE), and Perl, whose `.pl` problemtools takes for Prolog. Each gets its folder's verdict.
#[test]
fn judge_only_submissions_get_the_verdict_their_folder_names() {
    let _cpu = cpu_bound();
    let root = repo().join("testdata/judge-only/aplusb");
    let kinds =
        [("accepted", "AC"), ("run_time_error", "RE"), ("compile_error", "CE"), ("output_limit_exceeded", "OLE")];
    let mut folders: Vec<String> =
        std::fs::read_dir(&root).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    folders.sort();
    let mut known: Vec<String> = kinds.iter().map(|(k, _)| k.to_string()).collect();
    known.sort();
    assert_eq!(folders, known, "a folder under {} with no verdict here", root.display());
    for (kind, verdict) in kinds {
        let mut files: Vec<String> =
            std::fs::read_dir(root.join(kind)).unwrap().map(|e| e.unwrap().path().display().to_string()).collect();
        files.sort();
        assert!(!files.is_empty(), "{kind}");
        let problem = problems().join("aplusb").display().to_string();
        let mut args = vec!["grade", "--json", problem.as_str()];
        args.extend(files.iter().map(String::as_str));
        let out = judge(&args);
        assert_eq!(out.code, 0, "{}", out.stderr);
        let lines: Vec<Value> = out.stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(lines.len(), files.len(), "{}", out.stdout);
        for line in lines {
            assert_eq!(line["verdict"], verdict, "{kind}: {line}");
        }
    }
}

#[test]
fn json_result_has_the_contract_fields() {
    let result = grade_json(&problems().join("aplusb"), &problems().join("aplusb/submissions/accepted/sum.c"), &[]);
    assert_eq!(result["verdict"], "AC");
    assert_eq!(result["language"], "c");
    assert_eq!(result["score"], 1.0);
    assert!(result["file"].as_str().unwrap().ends_with("sum.c"));
    assert_eq!(result["compile"]["ok"], true);
    let tests = result["tests"].as_array().unwrap();
    assert!(tests.len() >= 2);
    assert_eq!(tests[0]["name"], "sample/1");
    for key in ["name", "verdict", "time_ms", "wall_ms", "memory_kb", "exit_code", "signal"] {
        assert!(tests[0].get(key).is_some(), "test result lacks {key}: {}", tests[0]);
    }
    for key in ["time_ms", "memory_kb"] {
        assert!(result[key].is_u64(), "{key}");
    }
}

#[test]
fn including_host_secrets_at_compile_time_is_ce_and_shows_nothing() {
    let scratch = Scratch::new("include");
    let shadow_line = std::fs::read_to_string("/etc/shadow").ok().and_then(|s| s.lines().next().map(String::from));
    for (name, text) in [
        ("shadow.c", "#include \"/etc/shadow\"\nint main(void){return 0;}\n"),
        ("shadow.cpp", "#include </etc/shadow>\nint main(){}\n"),
        ("passwd_via_proc.c", "#include \"/proc/1/root/etc/shadow\"\nint main(void){return 0;}\n"),
    ] {
        let source = scratch.file(name, text);
        let result = grade_json(&problems().join("aplusb"), &source, &[]);
        assert_eq!(result["verdict"], "CE", "{name}: {result}");
        let output = result["compile"]["output"].as_str().unwrap();
        assert!(output.contains("No such file") || output.contains("Permission denied"), "{name}: {output}");
        if let Some(line) = &shadow_line {
            let secret = line.split(':').nth(1).unwrap_or("");
            assert!(secret.len() < 3 || !output.contains(secret), "{name} leaked /etc/shadow");
        }
    }
}

#[test]
fn compiler_bombs_end_as_ce_within_the_compile_limits() {
    let scratch = Scratch::new("bombs");
    let languages = tight_languages(&scratch);
    let languages = languages.display().to_string();
    let macro_bomb = "#define A x,x,x,x,x,x,x,x,x,x\n#define B A,A,A,A,A,A,A,A,A,A\n#define C B,B,B,B,B,B,B,B,B,B\n\
#define D C,C,C,C,C,C,C,C,C,C\n#define E D,D,D,D,D,D,D,D,D,D\n#define F E,E,E,E,E,E,E,E,E,E\n\
#define G F,F,F,F,F,F,F,F,F,F\n#define H G,G,G,G,G,G,G,G,G,G\nint x; int a[] = {H};\nint main(void){return 0;}\n";
    let endless_include = "#include \"/dev/zero\"\nint main(void){return 0;}\n";
    let template_bomb = "template<int N> struct T { static constexpr long v = T<N-1>::v + T<N-2>::v + 1; };\n\
template<> struct T<0> { static constexpr long v = 1; };\ntemplate<> struct T<1> { static constexpr long v = 1; };\n\
template<int N> struct W { using a = W<N-1>; using b = typename W<N-1>::a; static constexpr long v = T<N % 40>::v + a::v + b::v; };\n\
template<> struct W<0> { using a = W<0>; static constexpr long v = 0; };\nint main() { return W<100000>::v != 0; }\n";
    for (name, text) in
        [("macro_bomb.c", macro_bomb), ("endless_include.c", endless_include), ("template_bomb.cpp", template_bomb)]
    {
        let source = scratch.file(name, text);
        let started = std::time::Instant::now();
        let result = grade_json(&problems().join("aplusb"), &source, &["--languages", &languages]);
        let took = started.elapsed();
        assert_eq!(result["verdict"], "CE", "{name}: {result}");
        // Compile limits here: 2 s CPU, 4 s wall. Allow for start-up and a loaded machine.
        assert!(took.as_secs() < 30, "{name} took {took:?}");
    }
}

#[test]
fn hostile_programs_get_the_right_verdicts() {
    let _cpu = cpu_bound();
    let scratch = Scratch::new("hostile");
    let fork_bomb = scratch.file("fork_bomb.c", "#include <unistd.h>\nint main(void){for(;;)fork();}\n");
    let result = grade_json(&problems().join("aplusb"), &fork_bomb, &["--time-limit", "0.5"]);
    let verdict = result["verdict"].as_str().unwrap();
    assert!(verdict == "TLE" || verdict == "RE", "fork bomb: {result}");
    let memory_bomb = scratch.file(
        "memory_bomb.c",
        "#include <stdlib.h>\n#include <string.h>\nint main(void){for(;;){char*p=malloc(1<<24);if(p)memset(p,7,1<<24);}}\n",
    );
    let result = grade_json(&problems().join("aplusb"), &memory_bomb, &["--memory-limit", "64"]);
    assert_eq!(result["verdict"], "MLE", "memory bomb: {result}");
    let flood =
        scratch.file("flood.c", "#include <stdio.h>\nint main(void){for(;;)puts(\"flood flood flood flood\");}\n");
    let result = grade_json(&problems().join("aplusb"), &flood, &[]);
    assert_eq!(result["verdict"], "OLE", "output flood: {result}");
    let spin = scratch.file("spin.py", "while True:\n    pass\n");
    let result = grade_json(&problems().join("aplusb"), &spin, &["--time-limit", "0.3"]);
    assert_eq!(result["verdict"], "TLE", "{result}");
    assert!(result["time_ms"].as_u64().unwrap() >= 300, "{result}");
}

#[test]
fn empty_source_is_ce() {
    let scratch = Scratch::new("empty");
    let source = scratch.file("empty.c", "\n  \n");
    let result = grade_json(&problems().join("aplusb"), &source, &[]);
    assert_eq!(result["verdict"], "CE");
    assert!(result["compile"]["output"].as_str().unwrap().contains("empty"), "{result}");
}

#[test]
fn unknown_extension_lists_the_languages() {
    let scratch = Scratch::new("ext");
    let source = scratch.file("sol.cob", "DISPLAY \"HI\".\n");
    let out = judge(&["grade", &problems().join("aplusb").display().to_string(), &source.display().to_string()]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert_eq!(out.stderr.trim().lines().count(), 1, "{}", out.stderr);
    assert!(out.stderr.contains("\".cob\"") || out.stderr.contains("\"cob\""), "{}", out.stderr);
    for id in ["c (.c)", "cpp", "python3", "java"] {
        assert!(out.stderr.contains(id), "{}", out.stderr);
    }
}

#[test]
fn malformed_packages_get_errors_naming_file_and_key() {
    let scratch = Scratch::new("bad-package");
    scratch.file("p1/problem.yaml", "name: x\nlimits:\n  memory: lots\n");
    scratch.file("p1/data/secret/1.in", "1 2\n");
    scratch.file("p1/data/secret/1.ans", "3\n");
    let source = scratch.file("sol.c", "int main(void){return 0;}\n");
    let out = judge(&["grade", &scratch.path().join("p1").display().to_string(), &source.display().to_string()]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("problem.yaml") && out.stderr.contains("limits.memory"), "{}", out.stderr);

    scratch.file("p2/problem.yaml", "name: y\n");
    scratch.file("p2/data/secret/1.in", "1 2\n");
    let out = judge(&["grade", &scratch.path().join("p2").display().to_string(), &source.display().to_string()]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("1.in") && out.stderr.contains(".ans"), "{}", out.stderr);

    let out = judge(&["grade", &scratch.path().join("nope").display().to_string(), &source.display().to_string()]);
    assert_eq!(out.code, 2, "{}", out.stderr);
}

#[test]
fn grade_many_files_in_one_call_with_human_output() {
    let dir = problems().join("aplusb/submissions");
    let out = judge(&[
        "grade",
        &problems().join("aplusb").display().to_string(),
        &dir.join("accepted/sum.py").display().to_string(),
        &dir.join("wrong_answer/int32.c").display().to_string(),
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("sum.py (python3): AC"), "{}", out.stdout);
    assert!(out.stdout.contains("int32.c (c): WA"), "{}", out.stdout);
    assert!(out.stdout.contains("VERDICT"), "{}", out.stdout);
}

#[test]
fn warm_sandboxes_keep_nothing_of_one_run_for_the_next() {
    // Eight tests run in one judge process on its warm slots (two at a time
    // on two cores), so every slot is reused; each run checks for what the
    // one before it left and then leaves a file, a SysV semaphore set, an abstract
    // socket and a daemon behind.
    let scratch = Scratch::new("leftovers");
    scratch.file("p/problem.yaml", "name: leftovers\n");
    for i in 0..8 {
        scratch.file(&format!("p/data/secret/{i:02}.in"), &format!("{i}\n"));
        scratch.file(&format!("p/data/secret/{i:02}.ans"), "clean\n");
    }
    let source = repo().join("judge-api/tests/hostile/leftovers.c");
    let result = grade_json(&scratch.path().join("p"), &source, &["--all"]);
    let tests = result["tests"].as_array().unwrap();
    assert_eq!(tests.len(), 8, "{result}");
    for test in tests {
        assert_eq!(test["verdict"], "AC", "a run saw leftovers of an earlier one: {test}");
    }
}

/// The capabilities docker/README.md grants the judge, and no more: without
/// CAP_SYS_PTRACE the judge must still open its own helpers' /proc files
/// after a run's setuid (made on the judge's memory) cleared its dumpable
/// flag. Every test of a compiled and an interpreted language, two at a time.
#[test]
fn grading_needs_only_the_capabilities_the_docker_setup_grants() {
    // CAP_DAC_OVERRIDE, KILL, SETGID, SETUID, SETPCAP, SYS_CHROOT, SYS_ADMIN.
    let keep = [1, 5, 6, 7, 8, 18, 21];
    let last: u32 = std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .expect("cap_last_cap")
        .trim()
        .parse()
        .expect("a number");
    // Root's capabilities after exec are its bounding set: capsh empties it
    // of all but `keep` (capsh takes capability numbers as names).
    let drop: Vec<String> = (0..=last).filter(|cap| !keep.contains(cap)).map(|cap| cap.to_string()).collect();
    let problem = problems().join("aplusb");
    for source in ["sum.c", "sum.py"] {
        let source = problem.join("submissions/accepted").join(source);
        let script = format!(
            "exec {judge} grade --json --all {problem} {source}",
            judge = env!("CARGO_BIN_EXE_judge"),
            problem = problem.display(),
            source = source.display()
        );
        let output = Command::new("timeout")
            .args(["-s", "KILL", "300", "unshare", "--pid", "--fork", "--kill-child", "--mount-proc", "capsh"])
            .arg(format!("--drop={}", drop.join(",")))
            .args(["--", "-c", &script])
            .stdin(Stdio::null())
            .output()
            .expect("spawning capsh (libcap2-bin)");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
        let result: Value = serde_json::from_str(stdout.trim()).expect("JSON");
        let tests = result["tests"].as_array().expect("tests");
        assert!(tests.len() > 2, "{result}");
        assert!(tests.iter().all(|t| t["verdict"] == "AC"), "{result}");
    }
}

/// A custom output validator gets each test's input and answer on a tmpfs of
/// its own that is gone after the test: 12 tests of 10 MiB input and answer
/// do not fill up anything, whatever the problem's output limit.
#[test]
fn custom_validator_runs_release_each_tests_files() {
    let scratch = Scratch::new("bigdata");
    let package = scratch.0.path().join("bigdata");
    scratch.file("bigdata/problem.yaml", "name: Big data\nvalidation: custom\nlimits:\n  output: 8\n");
    let padding = " ".repeat(10 << 20);
    for i in 1..=12 {
        scratch.file(&format!("bigdata/data/secret/{i:02}.in"), &format!("{i}\n{padding}"));
        scratch.file(&format!("bigdata/data/secret/{i:02}.ans"), &format!("{i}\n{padding}"));
    }
    // Accepts when the team's number is the answer's and both files arrived whole.
    scratch.file(
        "bigdata/output_validators/check/check.c",
        r#"#include <stdio.h>
static long size(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f || fseek(f, 0, SEEK_END)) return -1;
    return ftell(f);
}
int main(int argc, char **argv) {
    if (argc < 4) return 1;
    long want = 10L << 20;
    if (size(argv[1]) < want || size(argv[2]) < want) return 2;
    FILE *answer = fopen(argv[2], "r");
    long expected, got;
    if (!answer || fscanf(answer, "%ld", &expected) != 1) return 3;
    if (scanf("%ld", &got) != 1 || got != expected) return 43;
    return 42;
}
"#,
    );
    let solution =
        scratch.file("echo.c", "#include <stdio.h>\nint main(void){long n;scanf(\"%ld\",&n);printf(\"%ld\\n\",n);}\n");
    let result = grade_json(&package, &solution, &["--all"]);
    let tests = result["tests"].as_array().unwrap();
    assert_eq!(tests.len(), 12, "{result}");
    for test in tests {
        assert_eq!(test["verdict"], "AC", "{test}");
    }
    assert_eq!(result["verdict"], "AC");
}

/// A Java class name too long for a file name is the submission's fault.
#[test]
fn a_java_class_name_too_long_for_a_file_is_ce() {
    let scratch = Scratch::new("longclass");
    let class = "L".repeat(300);
    let source =
        scratch.file("Long.java", &format!("public class {class} {{ public static void main(String[] a) {{}} }}\n"));
    let result = grade_json(&problems().join("aplusb"), &source, &[]);
    assert_eq!(result["verdict"], "CE", "{result}");
    let output = result["compile"]["output"].as_str().unwrap();
    assert!(output.contains("shorter class name"), "{output}");
}

/// Issue 13: a package whose files link out of it (to /etc/shadow, /proc/self/environ) or
/// are FIFOs is refused with an error naming the file, fast, and shows nothing of the host.
#[test]
fn packages_linking_out_or_holding_fifos_are_refused_without_leaking() {
    let scratch = Scratch::new("hostile-package");
    let echo = scratch.file("echo.py", "import sys\nsys.stdout.write(sys.stdin.read())\n");
    let shadow = std::fs::read_to_string("/etc/shadow").unwrap_or_default();
    let secrets: Vec<&str> = shadow.lines().filter(|l| l.len() > 8).collect();
    let cases: [(&str, &str, Option<&str>); 5] = [
        ("shadow-ans", "data/sample/1.ans", Some("/etc/shadow")),
        ("shadow-in", "data/sample/1.in", Some("/etc/shadow")),
        ("environ-in", "data/sample/1.in", Some("/proc/self/environ")),
        ("fifo-yaml", "problem.yaml", None),
        ("fifo-in", "data/sample/1.in", None),
    ];
    for (name, rel, target) in cases {
        scratch.file(&format!("{name}/data/sample/1.in"), "1 2\n");
        scratch.file(&format!("{name}/data/sample/1.ans"), "1 2\n");
        let path = scratch.0.path().join(name).join(rel);
        let _ = std::fs::remove_file(&path);
        match target {
            Some(target) => std::os::unix::fs::symlink(target, &path).unwrap(),
            None => assert!(Command::new("mkfifo").arg(&path).status().unwrap().success()),
        }
        let start = std::time::Instant::now();
        let out = judge(&[
            "grade",
            "--json",
            &scratch.0.path().join(name).display().to_string(),
            &echo.display().to_string(),
        ]);
        assert!(start.elapsed() < std::time::Duration::from_secs(60), "{name}: took {:?}", start.elapsed());
        assert_eq!(out.code, 2, "{name}: {}\n{}", out.stdout, out.stderr);
        let why = if target.is_some() { "leaves the package" } else { "not a regular file (a FIFO)" };
        assert!(out.stderr.contains(&format!("{rel}: {why}")), "{name}: {}", out.stderr);
        for line in &secrets {
            assert!(!out.stdout.contains(line) && !out.stderr.contains(line), "{name} leaked /etc/shadow");
        }
        assert!(!out.stderr.contains("PATH=") && !out.stdout.contains("PATH="), "{name} leaked the environment");
    }
}
