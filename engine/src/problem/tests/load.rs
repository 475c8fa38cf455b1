//! Loading: layouts, problem.yaml keys, test groups and flags.

use std::collections::HashMap;

use super::{names, verdicts, Pkg};
use crate::problem::*;

#[test]
fn legacy_minimal_defaults() {
    let pkg = Pkg::new("hello");
    pkg.tests(&["secret/1", "sample/1"]);
    let p = pkg.load().unwrap();
    assert_eq!(p.name, "hello");
    assert_eq!(p.dir.as_deref(), Some(std::fs::canonicalize(&pkg.dir).unwrap().as_path()));
    assert_eq!(p.time_limit, None);
    assert_eq!((p.memory_mib, p.output_mib), (256, 64));
    assert!(!p.interactive && !p.scoring);
    assert_eq!(p.validator, ValidatorSpec::Default);
    assert_eq!(p.format_version, "legacy");
    assert_eq!(names(&p), ["sample/1", "secret/1"]);
    assert_eq!(p.tests[0].group, "sample");
    assert!(p.tests[0].is_sample() && !p.tests[1].is_sample());
    assert_eq!(p.tests[1].input.read().unwrap(), b"in secret/1\n");
    assert_eq!(p.tests[1].answer.read().unwrap(), b"ans secret/1\n");
    assert!(p.tests[1].validator_flags.is_empty());
    assert_eq!(p.time_multiplier, 2.0);
}

#[test]
fn legacy_problem_yaml() {
    let pkg = Pkg::new("legacy");
    pkg.tests(&["secret/a"]).file(
        "problem.yaml",
        "name: Hello World\nlimits:\n  time_multiplier: 3\n  time_safety_margin: 1.5\n  memory: 1024\n  output: 8\n  code: 100\n\
         validation: custom\nvalidator_flags: float_tolerance 1e-6\nunknown_key: [1, 2]\n",
    );
    pkg.file("output_validators/checker/checker.cpp", "int main(){}");
    pkg.file("output_validators/checker/testlib.h", "");
    pkg.file(".timelimit", "2.5\n");
    let p = pkg.load().unwrap();
    assert_eq!(p.title.as_deref(), Some("Hello World"));
    assert_eq!(p.time_limit, Some(2.5));
    assert_eq!((p.memory_mib, p.output_mib), (1024, 8));
    assert_eq!((p.time_multiplier, p.time_safety_margin), (3.0, 1.5));
    assert_eq!(p.validator, ValidatorSpec::Custom(p.dir.as_ref().unwrap().join("output_validators/checker")));
    assert_eq!(p.validator_flags, ["float_tolerance", "1e-6"]);
    assert_eq!(p.tests[0].validator_flags, ["float_tolerance", "1e-6"]);
}

#[test]
fn legacy_validator_single_file_and_interactive() {
    let pkg = Pkg::new("inter");
    pkg.file("data/secret/1.in", "5\n").file("problem.yaml", "validation: custom interactive\n");
    pkg.file("output_validators/validate.py", "print()");
    let p = pkg.load().unwrap();
    assert!(p.interactive);
    assert_eq!(p.validator, ValidatorSpec::Custom(p.dir.as_ref().unwrap().join("output_validators/validate.py")));
    // Interactive: a missing .ans is an empty answer.
    assert_eq!(p.tests[0].answer.read().unwrap(), b"");

    // Several loose files form one program.
    let pkg = Pkg::new("loose");
    pkg.tests(&["secret/1"]).file("problem.yaml", "validation: custom\n");
    pkg.file("output_validators/v.cpp", "").file("output_validators/testlib.h", "");
    let p = pkg.load().unwrap();
    assert_eq!(p.validator, ValidatorSpec::Custom(p.dir.as_ref().unwrap().join("output_validators")));

    // Validation default ignores output_validators/.
    let pkg = Pkg::new("dflt");
    pkg.tests(&["secret/1"]).file("output_validators/v/v.cpp", "");
    assert_eq!(pkg.load().unwrap().validator, ValidatorSpec::Default);
}

#[test]
fn custom_validator_missing() {
    let pkg = Pkg::new("nocheck");
    pkg.tests(&["secret/1"]).file("problem.yaml", "validation: custom\n");
    let e = pkg.err();
    assert!(e.contains("output_validators"), "{e}");

    let pkg = Pkg::new("nocheck2");
    pkg.tests(&["secret/1"])
        .file("problem.yaml", "problem_format_version: 2023-07-draft\ntype: [pass-fail, interactive]\n");
    let e = pkg.err();
    assert!(e.contains("output_validator/") && e.contains("interactive"), "{e}");

    let pkg = Pkg::new("twochecks");
    pkg.tests(&["secret/1"]).file("problem.yaml", "validation: custom\n");
    pkg.file("output_validators/a/a.cpp", "").file("output_validators/b/b.cpp", "");
    let e = pkg.err();
    assert!(e.contains("several output validators"), "{e}");
}

#[test]
fn modern_problem_yaml() {
    let pkg = Pkg::new("modern");
    pkg.tests(&["secret/1", "sample/1"]).file(
        "problem.yaml",
        "problem_format_version: 2023-07-draft\nname:\n  sv: Hej\n  en: Hello\nuuid: x\ntype:\n  - pass-fail\n  - interactive\n\
         limits:\n  time_limit: 1.5\n  memory: 512\n  time_multipliers:\n    ac_to_time_limit: 3\n",
    );
    pkg.file("output_validator/validator.cpp", "").file(".timelimit", "9\n");
    let p = pkg.load().unwrap();
    assert_eq!(p.format_version, "2023-07-draft");
    assert_eq!(p.title.as_deref(), Some("Hello"));
    assert!(p.interactive && !p.scoring);
    assert_eq!(p.time_limit, Some(1.5)); // limits.time_limit beats .timelimit
    assert_eq!((p.memory_mib, p.output_mib), (512, 64));
    assert_eq!((p.time_multiplier, p.time_safety_margin), (3.0, 1.5));
    assert_eq!(p.validator, ValidatorSpec::Custom(p.dir.as_ref().unwrap().join("output_validator")));

    // A plain pass-fail 2023-07 problem with output_validators/ uses it.
    let pkg = Pkg::new("modern2");
    pkg.tests(&["secret/1"]).file("problem.yaml", "problem_format_version: 2023-07-draft\ntype: scoring\n");
    pkg.file("output_validators/check/check.py", "");
    let p = pkg.load().unwrap();
    assert!(p.scoring && !p.interactive);
    assert_eq!(p.validator, ValidatorSpec::Custom(p.dir.as_ref().unwrap().join("output_validators/check")));

    let pkg = Pkg::new("multipass");
    pkg.tests(&["secret/1"]).file("problem.yaml", "problem_format_version: 2023-07-draft\ntype: multi-pass\n");
    assert!(pkg.err().contains("not supported"));
}

#[test]
fn name_and_type_leniency() {
    // The name is the one the caller used, even through a symlink.
    let pkg = Pkg::new("real-dir");
    pkg.file("data/secret/1.in", "").file("problem.yaml", "type: interactive\n");
    pkg.file("output_validator/v.py", "").file("output_validator/lib.py", "");
    let link = pkg.root.join("alias");
    std::os::unix::fs::symlink(&pkg.dir, &link).unwrap();
    let p = Problem::load(&link).unwrap();
    assert_eq!(p.name, "alias");
    assert!(p.interactive);
    // Legacy falls back to output_validator/ as one program.
    assert_eq!(p.validator, ValidatorSpec::Custom(p.dir.as_ref().unwrap().join("output_validator")));
    let p = Problem::load(&pkg.dir.join("data/..")).unwrap();
    assert_eq!(p.name, "real-dir");
}

#[test]
fn group_order() {
    let pkg = Pkg::new("order");
    pkg.tests(&[
        "secret/b",
        "secret/a",
        "secret/10",
        "secret/2",
        "secret/g1/03",
        "secret/g1/01",
        "secret/g1/sub/x",
        "secret/g1/02",
        "secret/c0",
        "sample/2",
        "sample/1",
    ]);
    // Non-tests are ignored; .ans without .in too.
    pkg.file("data/secret/readme.txt", "").file("data/secret/orphan.ans", "").file("data/sample/1.png", "");
    pkg.file("data/invalid_input/bad.in", "");
    let p = pkg.load().unwrap();
    assert_eq!(
        names(&p),
        [
            "sample/1",
            "sample/2",
            "secret/10",
            "secret/2",
            "secret/a",
            "secret/b",
            "secret/c0",
            "secret/g1/01",
            "secret/g1/02",
            "secret/g1/03",
            "secret/g1/sub/x",
        ]
    );
    assert_eq!(p.tests[7].group, "secret/g1");
    assert_eq!(p.tests[10].group, "secret/g1/sub");
    let groups: Vec<&str> = p.groups.iter().map(|g| g.path.as_str()).collect();
    assert_eq!(groups, ["sample", "secret", "secret/g1", "secret/g1/sub"]);
}

#[test]
fn groups_interleave_with_files() {
    // Entries sort by name: "a.in" < "b" (dir) < "c.in"; "x-1" (dir) < "x.in".
    let pkg = Pkg::new("interleave");
    pkg.tests(&["secret/c", "secret/a", "secret/b/1", "secret/x", "secret/x-1/1"]);
    let p = pkg.load().unwrap();
    assert_eq!(names(&p), ["secret/a", "secret/b/1", "secret/c", "secret/x-1/1", "secret/x"]);
}

#[test]
fn missing_answer_is_an_error() {
    let pkg = Pkg::new("noans");
    pkg.tests(&["secret/1"]).file("data/secret/2.in", "x\n");
    let e = pkg.err();
    assert!(e.contains("data/secret/2.in") && e.contains("2.ans"), "{e}");
}

#[test]
fn no_tests_is_an_error() {
    let pkg = Pkg::new("empty");
    pkg.file("problem.yaml", "");
    assert!(pkg.err().contains("no test cases"));
    pkg.file("data/secret/readme", "");
    assert!(pkg.err().contains("no test cases"));
    assert!(matches!(Problem::load(&pkg.dir.join("nope")), Err(ProblemError::Io { .. })));
}

#[test]
fn testdata_flags_inheritance() {
    let pkg = Pkg::new("flags");
    pkg.tests(&[
        "sample/1",
        "secret/1",
        "secret/g1/1",
        "secret/g1/deep/1",
        "secret/g2/1",
        "secret/g3/1",
        "secret/g3/2",
    ]);
    pkg.file("problem.yaml", "validator_flags: case_sensitive\n");
    pkg.file("data/testdata.yaml", "output_validator_flags: space_change_sensitive\n");
    pkg.file("data/secret/testdata.yaml", "output_validator_flags: float_tolerance 1e-3\n");
    pkg.file("data/secret/g1/testdata.yaml", "accept_score: 5\n"); // no flags: inherits secret's
    pkg.file("data/secret/g1/deep/testdata.yaml", "output_validator_args: [float_absolute_tolerance, '0.5']\n");
    pkg.file("data/secret/g2/test_group.yaml", "output_validator_args: ''\n");
    pkg.file("data/secret/g3/2.yaml", "output_validator_args: [case_sensitive]\n");
    let p = pkg.load().unwrap();
    let flags: HashMap<&str, Vec<&str>> =
        p.tests.iter().map(|t| (t.name.as_str(), t.validator_flags.iter().map(String::as_str).collect())).collect();
    assert_eq!(flags["sample/1"], ["case_sensitive", "space_change_sensitive"]);
    assert_eq!(flags["secret/1"], ["case_sensitive", "float_tolerance", "1e-3"]);
    assert_eq!(flags["secret/g1/1"], ["case_sensitive", "float_tolerance", "1e-3"]);
    assert_eq!(flags["secret/g1/deep/1"], ["case_sensitive", "float_absolute_tolerance", "0.5"]);
    assert_eq!(flags["secret/g2/1"], ["case_sensitive"]);
    assert_eq!(flags["secret/g3/1"], ["case_sensitive", "float_tolerance", "1e-3"]);
    assert_eq!(flags["secret/g3/2"], ["case_sensitive", "case_sensitive"]);
    // Parsed once at load time for the default validator.
    let deep = p.tests.iter().find(|t| t.name == "secret/g1/deep/1").unwrap();
    assert!(deep.default_flags.case_sensitive && deep.default_flags.float_absolute == Some(0.5));
    assert_eq!(deep.default_flags.float_relative, None);
    let g1 = p.groups.iter().find(|g| g.path == "secret/g1").unwrap();
    let deep = p.groups.iter().find(|g| g.path == "secret/g1/deep").unwrap();
    assert_eq!((g1.accept_score, deep.accept_score), (5.0, 5.0));
}

#[test]
fn inline_problem() {
    let p = Problem::inline(
        "adhoc",
        vec![("1".into(), b"1 2\n".to_vec(), b"3\n".to_vec()), ("2".into(), b"".to_vec(), b"0\n".to_vec())],
        1.5,
        128,
        16,
        vec!["case_sensitive".into()],
    )
    .unwrap();
    assert_eq!(p.name, "adhoc");
    assert!(p.dir.is_none());
    assert_eq!((p.time_limit, p.memory_mib, p.output_mib), (Some(1.5), 128, 16));
    assert!(!p.scoring && !p.interactive);
    assert_eq!(p.validator, ValidatorSpec::Default);
    assert_eq!(names(&p), ["1", "2"]);
    assert_eq!(p.tests[0].group, "secret");
    assert_eq!(p.tests[0].input.read().unwrap(), b"1 2\n");
    assert_eq!(p.tests[1].answer.read().unwrap(), b"0\n");
    assert_eq!(p.tests[1].validator_flags, ["case_sensitive"]);
    assert_eq!(p.score(&verdicts("AA")), 1.0);
    assert_eq!(p.score(&verdicts("AW")), 0.0);
    assert!(p.submissions().unwrap().is_empty());
    let e = Problem::inline("adhoc", vec![], 1.0, 64, 64, vec!["banana".into()]).unwrap_err().to_string();
    assert!(e.contains("inline problem adhoc") && e.contains("banana"), "{e}");
}

#[test]
fn submissions_listing() {
    let pkg = Pkg::new("subs");
    pkg.tests(&["secret/1"]);
    pkg.file("submissions/wrong_answer/wa.cpp", "")
        .file("submissions/accepted/b.py", "")
        .file("submissions/accepted/a.cpp", "")
        .file("submissions/accepted/multi/main.py", "")
        .file("submissions/accepted/.hidden", "")
        .file("submissions/submissions.yaml", "");
    let p = pkg.load().unwrap();
    let d = p.dir.clone().unwrap().join("submissions");
    assert_eq!(
        p.submissions().unwrap(),
        [
            ("accepted".to_string(), d.join("accepted/a.cpp")),
            ("accepted".to_string(), d.join("accepted/b.py")),
            ("wrong_answer".to_string(), d.join("wrong_answer/wa.cpp")),
        ]
    );
    let bare = Pkg::new("nosubs");
    bare.tests(&["secret/1"]);
    assert!(bare.load().unwrap().submissions().unwrap().is_empty());
}
