//! Scoring from verdicts.

use super::{names, verdicts, Pkg};
use crate::problem::*;
use crate::Verdict;

#[test]
fn pass_fail_score() {
    let pkg = Pkg::new("pf");
    pkg.tests(&["sample/1", "secret/1", "secret/2"]);
    let p = pkg.load().unwrap();
    assert_eq!(p.score(&verdicts("AAA")), 1.0);
    assert_eq!(p.score(&verdicts("AWA")), 0.0);
    assert_eq!(p.score(&verdicts("AA")), 0.0); // not run = not AC
    assert_eq!(p.score(&[]), 0.0);
    assert_eq!(p.score(&[Verdict::AC, Verdict::AC, Verdict::TLE]), 0.0);
}

#[test]
fn legacy_scoring() {
    let pkg = Pkg::new("legacyscore");
    pkg.tests(&["sample/1", "secret/g1/1", "secret/g1/2", "secret/g2/1", "secret/g2/2", "secret/g2/3", "secret/loose"]);
    pkg.file("problem.yaml", "type: scoring\n");
    pkg.file("data/testdata.yaml", "grader_flags: ignore_sample\non_reject: continue\n");
    pkg.file("data/secret/g1/testdata.yaml", "accept_score: 30\ngrader_flags: min\non_reject: break\n");
    pkg.file("data/secret/g2/testdata.yaml", "accept_score: 20\n"); // sum by default
                                                                    // tests: sample/1, secret/g1/1, secret/g1/2, secret/g2/1, secret/g2/2, secret/g2/3, secret/loose
    let p = pkg.load().unwrap();
    assert!(p.scoring);
    assert_eq!(names(&p)[6], "secret/loose");
    assert_eq!(p.score(&verdicts("AAAAAAA")), 30.0 + 60.0 + 1.0);
    assert_eq!(p.score(&verdicts("WAAAAAA")), 91.0); // sample ignored
    assert_eq!(p.score(&verdicts("AAWAAAA")), 61.0); // g1 is min: all or nothing
    assert_eq!(p.score(&verdicts("AAAAWAW")), 70.0); // g2 sums
    assert_eq!(p.score(&verdicts("AAA")), 30.0); // the rest never ran
    let g1 = p.groups.iter().find(|g| g.path == "secret/g1").unwrap();
    assert_eq!(g1.on_reject, OnReject::Break);
    let g2 = p.groups.iter().find(|g| g.path == "secret/g2").unwrap();
    assert_eq!(g2.on_reject, OnReject::Continue);

    // avg / max modes, reject_score, and problem.yaml grading defaults.
    let pkg = Pkg::new("legacyavg");
    pkg.tests(&["secret/1", "secret/2", "secret/3", "secret/4"]);
    pkg.file("problem.yaml", "type: scoring\ngrading:\n  accept_score: 10\n  reject_score: 2\n");
    pkg.file("data/secret/testdata.yaml", "grader_flags: first_error avg\n");
    let p = pkg.load().unwrap();
    assert_eq!(p.score(&verdicts("AAWW")), 6.0);
    pkg.file("data/secret/testdata.yaml", "grader_flags: max\n");
    let p = pkg.load().unwrap();
    assert_eq!(p.score(&verdicts("WWWA")), 10.0);
    assert_eq!(p.score(&verdicts("WWWW")), 2.0);
}

#[test]
fn modern_scoring() {
    let pkg = Pkg::new("modernscore");
    pkg.tests(&[
        "sample/1",
        "secret/g1/1",
        "secret/g1/2",
        "secret/g2/1",
        "secret/g2/sub/1",
        "secret/g3/1",
        "secret/g3/2",
    ]);
    pkg.file("problem.yaml", "problem_format_version: 2023-07-draft\ntype: scoring\n");
    pkg.file("data/secret/g1/testdata.yaml", "score: 20\naggregation: min\n");
    pkg.file("data/secret/g2/testdata.yaml", "scoring:\n  score: 30\n"); // pass-fail by default
    pkg.file("data/secret/g3/test_group.yaml", "scoring:\n  aggregation: sum\n"); // gets 100-50
    let p = pkg.load().unwrap();
    assert_eq!(p.score(&verdicts("AAAAAAA")), 100.0);
    assert_eq!(p.score(&verdicts("WAAAAAA")), 100.0);
    assert_eq!(p.score(&verdicts("AWAAAAA")), 80.0);
    assert_eq!(p.score(&verdicts("AAAAWAA")), 70.0); // subgroup of g2 failed
    assert_eq!(p.score(&verdicts("AAAAAWA")), 75.0); // g3 sums halves of 50
    assert_eq!(p.score(&verdicts("AAAA")), 20.0);
    assert_eq!(p.score(&[]), 0.0);

    // No testdata at all: secret is worth 100, shared evenly.
    let pkg = Pkg::new("modernplain");
    pkg.tests(&["secret/1", "secret/2", "secret/3"]);
    pkg.file("problem.yaml", "problem_format_version: 2023-07-draft\ntype: scoring\n");
    let p = pkg.load().unwrap();
    assert_eq!(p.score(&verdicts("AAA")), 100.0);
    assert_eq!(p.score(&verdicts("AWA")), 66.666667);

    // Secret min aggregation with its own score.
    pkg.file("data/secret/testdata.yaml", "score: 50\naggregation: min\n");
    let p = pkg.load().unwrap();
    assert_eq!(p.score(&verdicts("AAA")), 50.0);
    assert_eq!(p.score(&verdicts("AAW")), 0.0);
}
