//! Scoring a problem from its test verdicts (legacy default grader and 2023-07 groups).

use std::collections::HashMap;

use super::{is_legacy, Aggregation, MaxScore, Problem};
use crate::Verdict;

impl Problem {
    /// Score from verdicts aligned with `tests`; a missing verdict (test not run) counts
    /// as not accepted.
    ///
    /// - Polygon problems with points: see [`super::Points::score`].
    /// - Pass-fail problems: 1 when every test is AC, else 0.
    /// - Scoring problems score only `secret` (samples count 0, like `ignore_sample`).
    ///   - legacy: a test scores its group's `accept_score` (default 1) when AC, else
    ///     `reject_score` (default 0); a group combines its tests and subgroups by the last
    ///     of `sum` (default), `avg`, `min`, `max` in its `grader_flags`. Unlike Kattis, the
    ///     score is not zeroed when the overall verdict is a rejection.
    ///   - 2023-07: `secret` has `score` 100 and `sum` aggregation unless set; subgroups
    ///     default to `pass-fail`. A `pass-fail` group scores its maximum when all its tests
    ///     (subgroups included) are AC, else 0; `sum` adds and `min` takes the minimum of
    ///     the children's scores, where a child's maximum is its own `score` or inferred
    ///     from the parent's (`(M - S) / (A + T)` under `sum`, `M` under `min`). An accepted
    ///     test scores its maximum (1 when unbounded, as validator score files are not
    ///     read).
    pub fn score(&self, verdicts: &[Verdict]) -> f64 {
        if let Some(points) = &self.points {
            return points.score(verdicts, &[]);
        }
        let ac: Vec<bool> = (0..self.tests.len()).map(|i| verdicts.get(i) == Some(&Verdict::AC)).collect();
        if !self.scoring {
            return if ac.iter().all(|&a| a) { 1.0 } else { 0.0 };
        }
        let tree = Tree::new(self);
        let Some(secret) = tree.index.get("secret").copied() else { return 0.0 };
        let raw = if is_legacy(&self.format_version) {
            tree.legacy(secret, &ac)
        } else {
            let max = self.groups[secret].score.unwrap_or(MaxScore::Bounded(100.0));
            tree.modern(secret, max, Aggregation::Sum, &ac)
        };
        // Avoid 99.99999999999997 from summing shares.
        (raw * 1e6).round() / 1e6
    }
}

/// The group tree of a problem, for scoring.
struct Tree<'a> {
    problem: &'a Problem,
    index: HashMap<&'a str, usize>,
    /// Per group: indices of its own tests.
    tests: Vec<Vec<usize>>,
    /// Per group: indices of its direct subgroups.
    subgroups: Vec<Vec<usize>>,
}

impl<'a> Tree<'a> {
    fn new(problem: &'a Problem) -> Tree<'a> {
        let n = problem.groups.len();
        let index: HashMap<&str, usize> =
            problem.groups.iter().enumerate().map(|(i, g)| (g.path.as_str(), i)).collect();
        let mut tests = vec![Vec::new(); n];
        let mut subgroups = vec![Vec::new(); n];
        for (i, t) in problem.tests.iter().enumerate() {
            if let Some(&g) = index.get(t.group.as_str()) {
                tests[g].push(i);
            }
        }
        for (i, g) in problem.groups.iter().enumerate() {
            if let Some((parent, _)) = g.path.rsplit_once('/') {
                if let Some(&p) = index.get(parent) {
                    subgroups[p].push(i);
                }
            }
        }
        Tree { problem, index, tests, subgroups }
    }

    fn all_ac(&self, g: usize, ac: &[bool]) -> bool {
        self.tests[g].iter().all(|&t| ac[t]) && self.subgroups[g].iter().all(|&s| self.all_ac(s, ac))
    }

    fn legacy(&self, g: usize, ac: &[bool]) -> f64 {
        let group = &self.problem.groups[g];
        let mut scores: Vec<f64> =
            self.tests[g].iter().map(|&t| if ac[t] { group.accept_score } else { group.reject_score }).collect();
        scores.extend(self.subgroups[g].iter().map(|&s| self.legacy(s, ac)));
        if scores.is_empty() {
            return 0.0;
        }
        let mode = group.grader_flags.iter().rev().find(|f| matches!(f.as_str(), "sum" | "avg" | "min" | "max"));
        match mode.map(String::as_str) {
            Some("avg") => scores.iter().sum::<f64>() / scores.len() as f64,
            Some("min") => scores.iter().copied().fold(f64::INFINITY, f64::min),
            Some("max") => scores.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            _ => scores.iter().sum(),
        }
    }

    /// Score of group `g` whose maximum is `max` (its own `score` if set, else inferred),
    /// with `default_agg` when the group sets no aggregation.
    fn modern(&self, g: usize, max: MaxScore, default_agg: Aggregation, ac: &[bool]) -> f64 {
        let group = &self.problem.groups[g];
        let max = group.score.unwrap_or(max);
        let value = |m: MaxScore| match m {
            MaxScore::Bounded(v) => v,
            MaxScore::Unbounded => 1.0,
        };
        let tests = &self.tests[g];
        let subs = &self.subgroups[g];
        if tests.is_empty() && subs.is_empty() {
            return 0.0;
        }
        match group.aggregation.unwrap_or(default_agg) {
            Aggregation::PassFail => {
                if self.all_ac(g, ac) {
                    match max {
                        MaxScore::Bounded(v) => v,
                        MaxScore::Unbounded => 0.0,
                    }
                } else {
                    0.0
                }
            }
            agg @ (Aggregation::Sum | Aggregation::Min) => {
                let child_max = match (agg, max) {
                    (_, MaxScore::Unbounded) => MaxScore::Unbounded,
                    (Aggregation::Min, m) => m,
                    (_, MaxScore::Bounded(m)) => {
                        let mut given = 0.0;
                        let mut unset = tests.len();
                        for &s in subs {
                            match self.problem.groups[s].score {
                                Some(MaxScore::Bounded(v)) => given += v,
                                Some(MaxScore::Unbounded) => {}
                                None => unset += 1,
                            }
                        }
                        MaxScore::Bounded(if unset == 0 { 0.0 } else { ((m - given) / unset as f64).max(0.0) })
                    }
                };
                let scores = tests
                    .iter()
                    .map(|&t| if ac[t] { value(child_max) } else { 0.0 })
                    .chain(subs.iter().map(|&s| self.modern(s, child_max, Aggregation::PassFail, ac)));
                if agg == Aggregation::Min {
                    scores.fold(f64::INFINITY, f64::min)
                } else {
                    scores.sum()
                }
            }
        }
    }
}
