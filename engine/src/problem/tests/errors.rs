//! Malformed packages: every error names the file and the key.

use super::Pkg;
use crate::problem::MAX_LIMIT_MIB;

#[test]
fn malformed_problem_yaml() {
    let cases = [
        ("limits:\n  memory: abc\n", "limits.memory: expected a number, got \"abc\""),
        (
            "limits:\n  time_limit: -1\n",
            "limits.time_limit: expected a positive number of seconds, at most 86400, got -1",
        ),
        ("limits:\n  output: [1]\n", "limits.output: expected a number, got a list"),
        ("limits: 5\n", "limits: expected a map, got 5"),
        ("validation: magic\n", "validation: expected"),
        ("validation: default interactive\n", "validation: expected"),
        ("type: batch\n", "type: expected pass-fail, scoring or interactive, got \"batch\""),
        ("type: submit-answer\n", "type: \"submit-answer\" problems are not supported"),
        ("problem_format_version: 2023-07-draft\ntype: [pass-fail, scoring]\n", "exclude each other"),
        ("problem_format_version: 2023-07-draft\ntype: foo\n", "type: expected"),
        ("validator_flags: {a: 1}\n", "validator_flags: expected a string or a list of strings, got a map"),
        ("limits: {memory: 1\n", "invalid YAML"),
        ("- a\n- b\n", "expected a map of keys, got a list"),
    ];
    for (yaml, want) in cases {
        let pkg = Pkg::new("bad");
        pkg.tests(&["secret/1"]).file("problem.yaml", yaml);
        let e = pkg.err();
        assert!(e.contains("problem.yaml: ") && e.contains(want), "{yaml:?}: {e}");
    }
    let pkg = Pkg::new("badtl");
    pkg.tests(&["secret/1"]).file(".timelimit", "soon\n");
    let e = pkg.err();
    assert!(e.contains(".timelimit") && e.contains("\"soon\""), "{e}");
    // Numbers given as strings are fine.
    let pkg = Pkg::new("strnum");
    pkg.tests(&["secret/1"]).file("problem.yaml", "limits:\n  memory: '512'\n  time_limit: 2\n");
    let p = pkg.load().unwrap();
    assert_eq!((p.memory_mib, p.time_limit), (512, Some(2.0)));
}

#[test]
fn malformed_testdata_yaml() {
    let pkg = Pkg::new("badtd");
    pkg.tests(&["secret/g/1"]).file("data/secret/g/testdata.yaml", "accept_score: lots\n");
    let e = pkg.err();
    assert!(e.contains("data/secret/g/testdata.yaml: accept_score: expected a number, got \"lots\""), "{e}");
    pkg.file("data/secret/g/testdata.yaml", "on_reject: stop\n");
    assert!(pkg.err().contains("on_reject"));
    pkg.file("data/secret/g/testdata.yaml", "scoring:\n  aggregation: max\n");
    assert!(pkg.err().contains("scoring.aggregation"));
    pkg.file("data/secret/g/testdata.yaml", "output_validator_flags: [1, [2]]\n");
    assert!(pkg.err().contains("output_validator_flags"));
}

#[test]
fn out_of_range_limits() {
    let cases = [
        // 2^44 MiB would wrap when turned into bytes.
        ("limits:\n  memory: 17592186044416\n", "limits.memory: expected a positive number of MiB, at most 1048576"),
        ("limits:\n  memory: 0\n", "limits.memory: expected a positive number of MiB"),
        ("limits:\n  memory: 1048577\n", "limits.memory"),
        ("limits:\n  output: 0\n", "limits.output: expected a positive number of MiB"),
        ("limits:\n  output: 1e12\n", "limits.output"),
        ("limits:\n  time_limit: 0\n", "limits.time_limit: expected a positive number of seconds"),
        ("limits:\n  time_limit: 86401\n", "limits.time_limit"),
        ("limits:\n  time_limit: .inf\n", "limits.time_limit: expected a number"),
        ("limits:\n  time_limit: .nan\n", "limits.time_limit: expected a number"),
        ("limits:\n  time_multiplier: 0\n", "limits.time_multiplier: expected a positive number"),
        ("limits:\n  time_multiplier: 1001\n", "limits.time_multiplier"),
        ("limits:\n  time_safety_margin: -2\n", "limits.time_safety_margin"),
        ("limits:\n  time_multipliers:\n    ac_to_time_limit: 1e9\n", "limits.time_multipliers.ac_to_time_limit"),
        ("limits:\n  time_multipliers:\n    time_limit_to_tle: 0\n", "limits.time_multipliers.time_limit_to_tle"),
        ("limits:\n  time_multipliers: 3\n", "limits.time_multipliers: expected a map"),
    ];
    for (yaml, want) in cases {
        let pkg = Pkg::new("range");
        pkg.tests(&["secret/1"]).file("problem.yaml", yaml);
        let e = pkg.err();
        assert!(e.contains("problem.yaml: ") && e.contains(want), "{yaml:?}: {e}");
    }
    // The bounds themselves are fine.
    let pkg = Pkg::new("edges");
    pkg.tests(&["secret/1"]).file(
        "problem.yaml",
        "limits:\n  memory: 1048576\n  output: 1048576\n  time_limit: 86400\n  time_multiplier: 1000\n",
    );
    let p = pkg.load().unwrap();
    assert_eq!((p.memory_mib, p.output_mib, p.time_limit), (MAX_LIMIT_MIB, MAX_LIMIT_MIB, Some(86400.0)));
    assert_eq!(p.time_multiplier, 1000.0);
    // .timelimit is held to the same bound.
    let pkg = Pkg::new("longtl");
    pkg.tests(&["secret/1"]).file(".timelimit", "100000\n");
    let e = pkg.err();
    assert!(e.contains(".timelimit") && e.contains("at most 86400"), "{e}");
}

#[test]
fn bad_validator_flags_fail_the_load() {
    let pkg = Pkg::new("badflag");
    pkg.tests(&["secret/1"]).file("problem.yaml", "validator_flags: float_tolerance banana\n");
    let e = pkg.err();
    assert!(
        e.contains("problem.yaml: validator_flags: ") && e.contains("float_tolerance") && e.contains("banana"),
        "{e}"
    );

    // A bad flag in testdata.yaml names that file.
    let pkg = Pkg::new("badtdflag");
    pkg.tests(&["secret/g/1"]).file("problem.yaml", "validator_flags: case_sensitive\n");
    pkg.file("data/secret/g/testdata.yaml", "output_validator_flags: shout_loudly\n");
    let e = pkg.err();
    assert!(e.contains("data/secret/g/testdata.yaml: output_validator_flags: ") && e.contains("shout_loudly"), "{e}");

    // ... and in a per-test yaml, that one.
    let pkg = Pkg::new("badcaseflag");
    pkg.tests(&["secret/1"]).file("data/secret/1.yaml", "output_validator_args: [float_absolute_tolerance]\n");
    let e = pkg.err();
    assert!(e.contains("data/secret/1.yaml: ") && e.contains("float_absolute_tolerance"), "{e}");

    // A custom validator takes any words: nothing is parsed.
    let pkg = Pkg::new("customflag");
    pkg.tests(&["secret/1"]).file("problem.yaml", "validation: custom\nvalidator_flags: float_tolerance banana\n");
    pkg.file("output_validators/check.py", "");
    let p = pkg.load().unwrap();
    assert_eq!(p.tests[0].validator_flags, ["float_tolerance", "banana"]);
}
