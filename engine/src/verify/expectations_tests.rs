use super::*;
use crate::grade::{CompileInfo, TestResult};

fn graded(tests: &[(&str, Verdict)], score: f64) -> GradeResult {
    let verdict = tests.iter().map(|t| t.1).find(|v| *v != Verdict::AC).unwrap_or(Verdict::AC);
    GradeResult {
        language: "c".into(),
        verdict,
        score,
        time_ms: 0,
        memory_kb: 0,
        compile: CompileInfo { ok: true, output: String::new(), time_ms: 0 },
        tests: tests
            .iter()
            .map(|(name, verdict)| TestResult {
                name: name.to_string(),
                verdict: *verdict,
                time_ms: 0,
                wall_ms: 0,
                memory_kb: 0,
                exit_code: None,
                signal: None,
                feedback: None,
                partial: None,
            })
            .collect(),
    }
}

fn check_all(rules: &[Rule], result: &GradeResult) -> Result<(), String> {
    rules.iter().try_for_each(|r| r.check(result))
}

use Verdict::*;

#[test]
fn default_directories_follow_the_spec_table() {
    let e = Expectations::default();
    let wa_then_ac = graded(&[("sample/1", AC), ("secret/1", WA), ("secret/2", AC)], 0.0);
    assert!(check_all(&e.rules_for("wrong_answer/x.c"), &wa_then_ac).is_ok());
    assert!(check_all(&e.rules_for("rejected/x.c"), &wa_then_ac).is_ok());
    assert!(check_all(&e.rules_for("accepted/x.c"), &wa_then_ac).is_err());
    assert!(check_all(&e.rules_for("brute_force/x.c"), &wa_then_ac).is_err());

    let tle = graded(&[("sample/1", AC), ("secret/1", TLE)], 0.0);
    assert!(check_all(&e.rules_for("time_limit_exceeded/x.c"), &tle).is_ok());
    assert!(check_all(&e.rules_for("brute_force/x.c"), &tle).is_ok());
    assert!(check_all(&e.rules_for("wrong_answer/x.c"), &tle).is_err());

    // Memory and output overruns are run-time errors in the format's terms.
    let mle = graded(&[("sample/1", MLE)], 0.0);
    assert!(check_all(&e.rules_for("run_time_error/x.c"), &mle).is_ok());
    let ole = graded(&[("sample/1", OLE)], 0.0);
    assert!(check_all(&e.rules_for("run_time_error/x.c"), &ole).is_ok());

    let all_ac = graded(&[("sample/1", AC), ("secret/1", AC)], 1.0);
    assert!(check_all(&e.rules_for("accepted/x.c"), &all_ac).is_ok());
    let err = check_all(&e.rules_for("rejected/x.c"), &all_ac).unwrap_err();
    assert!(err.contains("RTE or TLE or WA"), "{err}");

    let ce = GradeResult { verdict: CE, ..graded(&[], 0.0) };
    assert_eq!(check_all(&e.rules_for("rejected/x.c"), &ce).unwrap_err(), "compile error");
    assert!(e.rules_for("other/x.c").is_empty());
}

#[test]
fn only_accepted_like_rules_lower_bound_the_time_limit() {
    let e = Expectations::default();
    let lower = |path: &str| e.rules_for(path).iter().any(Rule::lower_bounds_time_limit);
    assert!(lower("accepted/a.c") && lower("wrong_answer/a.c") && lower("run_time_error/a.c"));
    assert!(!lower("time_limit_exceeded/a.c") && !lower("brute_force/a.c") && !lower("rejected/a.c"));
}

fn load(yaml: &str) -> Result<Expectations, ExpectationsError> {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("submissions.yaml"), yaml).unwrap();
    Expectations::load(dir.path())
}

#[test]
fn submissions_yaml_adds_per_group_rules() {
    let e = load(
        "time_limit_exceeded/solves_group_1.py:\n  sample:\n    permitted: [AC]\n\
         \x20 secret/group1:\n    permitted: [AC]\n  secret/group2:\n    permitted: [AC, TLE]\n    required: [TLE]\n",
    )
    .unwrap();
    let rules = e.rules_for("time_limit_exceeded/solves_group_1.py");
    assert_eq!(rules.len(), 4, "{rules:?}");
    let good = graded(&[("sample/1", AC), ("secret/group1/1", AC), ("secret/group2/1", TLE)], 30.0);
    assert!(check_all(&rules, &good).is_ok());
    let bad = graded(&[("sample/1", AC), ("secret/group1/1", TLE), ("secret/group2/1", TLE)], 0.0);
    let err = check_all(&rules, &bad).unwrap_err();
    assert!(err.contains("secret/group1/1") && err.contains("secret/group1"), "{err}");
    let none = graded(&[("sample/1", AC), ("secret/group1/1", AC), ("secret/group2/1", AC)], 100.0);
    assert!(check_all(&rules, &none).unwrap_err().contains("got TLE"));
    // The glob names one file: another in the same folder has only the default rule.
    assert_eq!(e.rules_for("time_limit_exceeded/other.py").len(), 1);
}

#[test]
fn a_bare_directory_name_replaces_its_default_key_by_key() {
    let e = load("time_limit_exceeded:\n  permitted: [AC, WA, TLE]\nrejected/*:\n  score: [0, 50]\n").unwrap();
    let rules = e.rules_for("time_limit_exceeded/x.c");
    assert_eq!(rules.len(), 1);
    assert_eq!(rules[0].permitted.as_deref(), Some(&[SpecVerdict::AC, SpecVerdict::WA, SpecVerdict::TLE][..]));
    assert_eq!(rules[0].required.as_deref(), Some(&[SpecVerdict::TLE][..]));
    let wa_and_tle = graded(&[("secret/1", WA), ("secret/2", TLE)], 0.0);
    assert!(check_all(&rules, &wa_and_tle).is_ok());

    let rejected = e.rules_for("rejected/x.c");
    assert_eq!(rejected.len(), 2);
    assert!(check_all(&rejected, &graded(&[("secret/1", WA)], 20.0)).is_ok());
    assert!(check_all(&rejected, &graded(&[("secret/1", WA)], 60.0)).unwrap_err().contains("score 60"));
}

#[test]
fn brace_globs_and_messages() {
    let e = load("accepted/{a,b}.py:\n  message: exact\n").unwrap();
    let mut result = graded(&[("secret/1", AC)], 1.0);
    assert!(check_all(&e.rules_for("accepted/a.py"), &result).unwrap_err().contains("exact"));
    result.tests[0].feedback = Some("was exact here".into());
    assert!(check_all(&e.rules_for("accepted/b.py"), &result).is_ok());
    assert_eq!(e.rules_for("accepted/c.py").len(), 1);
}

#[test]
fn bad_files_name_the_file_and_the_key() {
    for (yaml, want) in [
        ("accepted:\n  permitted: [OK]\n", "permitted"),
        ("accepted: 3\n", "expected a map"),
        ("x:\n  secret:\n    deeper:\n      permitted: [AC]\n", "deeper"),
        ("accepted:\n  use_for_time_limit: sideways\n", "use_for_time_limit"),
        ("[1, 2]\n", "expected a map"),
    ] {
        let err = load(yaml).unwrap_err().to_string();
        assert!(err.contains("submissions.yaml") && err.contains(want), "{yaml}: {err}");
    }
    assert!(load("").unwrap().globs.is_empty());
}
