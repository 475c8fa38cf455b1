//! The reference check: problemtools' `verifyproblem` (PyPI `problemtools`, in the
//! virtualenv `.ci/run` makes at /opt/problemtools-venv) and `judge verify --json` judge
//! every example package in `testdata/problems/`, and every submission both can judge
//! gets the same verdict from both (a memory or output overrun counts as RTE, as in
//! Kattis). Skipped, with the reason printed, when `verifyproblem` is not installed.
//!
//! Only the `submissions` part of `verifyproblem` runs: statements need pandoc/LaTeX,
//! and the other parts judge no submission. Its language table is adjusted to this
//! machine through `XDG_CONFIG_HOME`: Java 17 instead of 21, and node without JIT (it
//! cannot reserve its code range under problemtools' address-space limit). Go cannot
//! start under that limit at all (gccgo or gc: "failed to reserve page summary memory"),
//! so Go is skipped, like any submission whose runtime dies that way. Submissions one side cannot judge are left out of
//! the comparison and listed with the reason. In `aplusb`,
//! `time_limit_exceeded/count_up.cpp` and `spin.py` are left out of the `verifyproblem`
//! run to keep it short (TLE is covered by `spin.c` there and by `guess` and
//! `subtasks`). The test takes about four minutes on two cores.
//! Every process runs inside `unshare --pid --fork --kill-child --mount-proc`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

const VENV_VERIFYPROBLEM: &str = "/opt/problemtools-venv/bin/verifyproblem";

/// Submission filter (`verifyproblem -s`, a Python regex) per package, where not all.
const FILTERS: [(&str, &str); 1] = [("aplusb", r"^(?!time_limit_exceeded/(count_up\.cpp|spin\.py)$)")];

const LANGUAGE_OVERRIDES: &str = "\
java:
    compile: 'javac -source 17 -encoding UTF-8 -sourcepath {path} -d {path} {files}'
javascript:
    run: 'nodejs --jitless \"{mainfile}\"'
";

/// `verifyproblem`, if installed: $VERIFYPROBLEM, the CI virtualenv, or PATH.
fn verifyproblem() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("VERIFYPROBLEM") {
        return Some(PathBuf::from(path));
    }
    if Path::new(VENV_VERIFYPROBLEM).is_file() {
        return Some(PathBuf::from(VENV_VERIFYPROBLEM));
    }
    let found = Command::new("sh").args(["-c", "command -v verifyproblem"]).output().ok()?;
    let path = String::from_utf8_lossy(&found.stdout).trim().to_string();
    (found.status.success() && !path.is_empty()).then(|| PathBuf::from(path))
}

/// Runs `program args` in a throwaway PID namespace, killed after `seconds`.
fn run_isolated(program: &Path, args: &[String], env: &[(&str, &Path)], seconds: u32) -> (i32, String, String) {
    let mut command = Command::new("timeout");
    command
        .args(["-s", "KILL", &seconds.to_string(), "unshare", "--pid", "--fork", "--kill-child", "--mount-proc"])
        .arg(program)
        .args(args)
        .stdin(Stdio::null());
    for (key, value) in env {
        command.env(key, value);
    }
    let output = command.output().unwrap_or_else(|e| panic!("spawning {}: {e}", program.display()));
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// What `verifyproblem` said about one submission.
#[derive(Debug, Clone, PartialEq)]
enum Reference {
    Verdict(String),
    /// It could not judge the file here (e.g. no compiler), with its words.
    CannotJudge(String),
}

/// Per-submission lines of `verifyproblem -l info` output, keyed by `kind/file`:
/// `   accepted/a.c (C) OK: AC [...]`, `   x (L) OK with extra time: TLE [...]`,
/// `ERROR x (L) got WA [...]`, `WARNING x (L) was fully accepted: AC [...]`,
/// `ERROR Compile error for x (L)...`.
fn parse_verifyproblem(output: &str) -> BTreeMap<String, Reference> {
    let mut out = BTreeMap::new();
    let lines: Vec<&str> = output.lines().collect();
    for (index, line) in lines.iter().enumerate() {
        let line = line.trim_start();
        if let Some(rest) = line.strip_prefix("ERROR Compile error for ") {
            let Some((name, why)) = rest.split_once(" (") else { continue };
            let reference = if why.contains("could not find compiler") {
                let detail = why.split_once(") (").map_or(why, |(_, d)| d);
                Reference::CannotJudge(format!("verifyproblem: {}", detail.trim_end_matches(')')))
            } else {
                Reference::Verdict("CE".into())
            };
            out.insert(name.to_string(), reference);
            continue;
        }
        let line = line.strip_prefix("ERROR ").or_else(|| line.strip_prefix("WARNING ")).unwrap_or(line);
        let Some((name, rest)) = line.split_once(" (") else { continue };
        if !name.contains('/') || name.contains(' ') {
            continue;
        }
        let Some((_, after)) = rest.split_once(") ") else { continue };
        let verdict = ["OK with extra time: ", "OK: ", "got ", "was fully accepted: "]
            .iter()
            .find_map(|prefix| after.strip_prefix(prefix))
            .and_then(|v| v.split([' ', ':', '[']).next());
        if let Some(verdict) = verdict.filter(|v| !v.is_empty()) {
            // The details follow, indented by eight spaces.
            let details = lines[index + 1..].iter().take_while(|l| l.starts_with("        ") || l.is_empty());
            let reference = if verdict == "RTE" && details.clone().any(|l| cannot_reserve_memory(l)) {
                Reference::CannotJudge(
                    "verifyproblem: the language runtime cannot reserve its address space under \
                     problemtools' memory rlimit"
                        .into(),
                )
            } else {
                Reference::Verdict(verdict.to_string())
            };
            out.insert(name.to_string(), reference);
        }
    }
    out
}

/// A runtime that reserves a large address space at start-up (Go's page summary, V8's
/// code range) dies under problemtools' address-space limit before the program runs.
fn cannot_reserve_memory(line: &str) -> bool {
    line.contains("failed to reserve page summary memory") || line.contains("Failed to reserve virtual memory")
}

/// The judge's verdict in Kattis' terms: memory and output overruns are RTE.
fn kattis_verdict(judge: &str) -> &str {
    match judge {
        "RE" | "MLE" | "OLE" => "RTE",
        other => other,
    }
}

#[derive(Default)]
struct Tally {
    compared: usize,
    agreed: usize,
    skipped: Vec<String>,
    mismatches: Vec<String>,
}

#[test]
fn verifyproblem_and_judge_verify_agree_on_every_package() {
    let Some(reference) = verifyproblem() else {
        eprintln!("skipped: verifyproblem is not installed (.ci/run installs it in {VENV_VERIFYPROBLEM})");
        return;
    };
    let config = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(config.path().join("problemtools")).unwrap();
    std::fs::write(config.path().join("problemtools/languages.yaml"), LANGUAGE_OVERRIDES).unwrap();

    let mut packages: Vec<PathBuf> = std::fs::read_dir(repo().join("testdata/problems"))
        .unwrap()
        .map(|e| e.unwrap().path())
        // Kattis packages only: verifyproblem does not read Polygon's problem.xml.
        .filter(|p| p.join("problem.yaml").is_file())
        .collect();
    packages.sort();
    assert!(packages.len() >= 5, "{packages:?}");

    // The judge, all packages at once.
    let mut args = vec!["verify".to_string(), "--json".to_string()];
    args.extend(packages.iter().map(|p| p.display().to_string()));
    let judge = Path::new(env!("CARGO_BIN_EXE_judge"));
    let (code, stdout, stderr) = run_isolated(judge, &args, &[], 900);
    assert!(code == 0 || code == 1, "judge verify failed ({code}):\n{stderr}");
    let judged: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("judge verify --json line {l:?}: {e}")))
        .collect();

    let mut table = Vec::new();
    for package in &packages {
        let name = package.file_name().unwrap().to_string_lossy().into_owned();
        let mut args = vec![package.display().to_string(), "-p".into(), "submissions".into()];
        args.extend(["-l".into(), "info".into()]);
        if let Some((_, filter)) = FILTERS.iter().find(|(p, _)| *p == name) {
            args.extend(["-s".into(), filter.to_string()]);
        }
        let (_, out, err) = run_isolated(&reference, &args, &[("XDG_CONFIG_HOME", config.path())], 900);
        let text = format!("{out}\n{err}");
        assert!(text.contains(&format!("{name} tested:")), "verifyproblem did not finish on {name}:\n{text}");
        let verdicts = parse_verifyproblem(&text);

        let mut tally = Tally::default();
        let mine = judged.iter().filter(|j| {
            // Problem names in the JSON are the package titles; match by path instead.
            j["file"].as_str().is_some_and(|f| Path::new(f).starts_with(package))
        });
        for line in mine {
            let file = Path::new(line["file"].as_str().unwrap());
            let key = format!("{}/{}", line["kind"].as_str().unwrap(), file.file_name().unwrap().to_string_lossy());
            if let Some(reason) = line["skipped"].as_str() {
                tally.skipped.push(format!("{key}: judge: {reason}"));
                continue;
            }
            let judge_verdict = kattis_verdict(line["verdict"].as_str().unwrap());
            // problemtools takes .pl for Prolog; here it is Perl: different programs.
            let reference = if key.ends_with(".pl") { None } else { verdicts.get(&key) };
            match reference {
                None if key.ends_with(".pl") => {
                    tally.skipped.push(format!("{key}: verifyproblem reads .pl as Prolog, the judge as Perl"))
                }
                None if FILTERS.iter().any(|(p, _)| *p == name) && key.starts_with("time_limit_exceeded/") => {
                    tally.skipped.push(format!("{key}: left out of the verifyproblem run (time)"))
                }
                None => tally.skipped.push(format!("{key}: verifyproblem has no language for it")),
                Some(Reference::CannotJudge(why)) => tally.skipped.push(format!("{key}: {why}")),
                Some(Reference::Verdict(theirs)) => {
                    tally.compared += 1;
                    if theirs == judge_verdict {
                        tally.agreed += 1;
                    } else {
                        tally.mismatches.push(format!("{name}: {key}: verifyproblem {theirs}, judge {judge_verdict}"));
                    }
                }
            }
        }
        assert!(tally.compared > 0, "{name}: nothing compared\nverifyproblem:\n{text}");
        table.push((name, tally));
    }

    eprintln!("package: compared / agreed / skipped");
    for (name, tally) in &table {
        eprintln!("{name}: {} / {} / {}", tally.compared, tally.agreed, tally.skipped.len());
        for skip in &tally.skipped {
            eprintln!("    skipped {skip}");
        }
    }
    let mismatches: Vec<&String> = table.iter().flat_map(|(_, t)| &t.mismatches).collect();
    assert!(mismatches.is_empty(), "verdicts differ:\n{mismatches:#?}");
}

#[test]
fn verifyproblem_lines_are_parsed() {
    let text = "\
   accepted/sum.c (C) OK: AC [CPU: 0.00s @ testcase sample/1]
   accepted/closed_form.py (Python 3 (w/PyPy3)) OK: AC (100) [CPU: 0.04s]
ERROR accepted/divide.js (JavaScript) got RTE [SIGTRAP, CPU: 0.05s @ testcase sample/1]:
   time_limit_exceeded/x.c (C) OK with extra time: TLE [CPU: 2s]
ERROR Compile error for accepted/Divide.java (Java):
ERROR Compile error for accepted/sum.go (Go) (Go: could not find compiler \"gccgo\" -- is it installed and on PATH?)
WARNING partially_accepted/p.c (C) was fully accepted: AC [CPU: 0.00s]
ERROR accepted/g.go (Go) got RTE [Exit 2, CPU: 0.14s @ testcase sample/1]:
        fatal error: failed to reserve page summary memory
        runtime stack:
ERROR Submission compile_error/syntax.c does not match any known submissions directory; ignoring it
   Slowest AC runtime: 0.05, setting timelim to 1 secs, safety margin to 1.5 secs
";
    let parsed = parse_verifyproblem(text);
    let verdict = |k: &str| parsed.get(k).cloned();
    assert_eq!(verdict("accepted/sum.c"), Some(Reference::Verdict("AC".into())));
    assert_eq!(verdict("accepted/closed_form.py"), Some(Reference::Verdict("AC".into())));
    assert_eq!(verdict("accepted/divide.js"), Some(Reference::Verdict("RTE".into())));
    assert_eq!(verdict("time_limit_exceeded/x.c"), Some(Reference::Verdict("TLE".into())));
    assert_eq!(verdict("accepted/Divide.java"), Some(Reference::Verdict("CE".into())));
    let go = verdict("accepted/sum.go");
    assert!(
        matches!(&go, Some(Reference::CannotJudge(w)) if w.starts_with("verifyproblem: Go: could not find compiler")),
        "{go:?}"
    );
    assert_eq!(verdict("partially_accepted/p.c"), Some(Reference::Verdict("AC".into())));
    assert!(matches!(verdict("accepted/g.go"), Some(Reference::CannotJudge(w)) if w.contains("address space")));
    assert_eq!(parsed.len(), 8, "{parsed:?}");
}
