//! Polygon scoring: points per test, and groups that give theirs per test or only
//! for the complete group, once the groups they depend on are complete.

use super::super::Problem;
use crate::Verdict;

/// How a Polygon group turns its tests' results into points (`points-policy`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PointsPolicy {
    /// The group's points only when every test of it is accepted.
    CompleteGroup,
    /// Each accepted test's own points.
    EachTest,
}

#[derive(Clone, Debug, PartialEq)]
pub struct PointsGroup {
    pub name: String,
    /// The group's own `points`; `None`: the sum of its tests' points.
    pub points: Option<f64>,
    pub policy: PointsPolicy,
    /// Groups (indices into [`Points::groups`]) that must be complete for this one to score.
    pub dependencies: Vec<usize>,
    /// Its tests (indices into the problem's tests).
    pub tests: Vec<usize>,
}

/// The points of a Polygon problem. Tests in no group score their own points each.
#[derive(Clone, Debug, PartialEq)]
pub struct Points {
    /// Per test, in the problem's test order.
    pub tests: Vec<f64>,
    pub groups: Vec<PointsGroup>,
}

impl Points {
    /// Points earned, from verdicts and partial fractions (testlib exit 7) aligned with
    /// the tests; a missing verdict (test not run) earns nothing.
    pub fn score(&self, verdicts: &[Verdict], partial: &[Option<f64>]) -> f64 {
        let ac = |t: usize| verdicts.get(t) == Some(&Verdict::AC);
        let points_of = |t: usize| self.tests.get(t).copied().unwrap_or(0.0);
        let earned = |t: usize| {
            if ac(t) {
                points_of(t)
            } else {
                partial.get(t).copied().flatten().map_or(0.0, |f| points_of(t) * f.clamp(0.0, 1.0))
            }
        };
        let complete = |g: &PointsGroup| g.tests.iter().all(|&t| ac(t));
        let mut grouped = vec![false; self.tests.len()];
        let mut total = 0.0;
        for group in &self.groups {
            for &t in &group.tests {
                if let Some(slot) = grouped.get_mut(t) {
                    *slot = true;
                }
            }
            let unlocked = group.dependencies.iter().all(|&d| self.groups.get(d).is_some_and(complete));
            if !unlocked {
                continue;
            }
            total += match group.policy {
                PointsPolicy::CompleteGroup if complete(group) => {
                    group.points.unwrap_or_else(|| group.tests.iter().map(|&t| points_of(t)).sum())
                }
                PointsPolicy::CompleteGroup => 0.0,
                PointsPolicy::EachTest => group.tests.iter().map(|&t| earned(t)).sum(),
            };
        }
        total += (0..self.tests.len()).filter(|&t| !grouped[t]).map(earned).sum::<f64>();
        (total * 1e6).round() / 1e6
    }
}

impl Problem {
    /// [`Problem::score`] with the partial fractions testlib checkers gave (exit 7),
    /// which only a problem scored by [`Points`] uses.
    pub fn score_with_partial(&self, verdicts: &[Verdict], partial: &[Option<f64>]) -> f64 {
        match &self.points {
            Some(points) => points.score(verdicts, partial),
            None => self.score(verdicts),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Verdict::{AC, WA};

    fn group(name: &str, points: Option<f64>, policy: PointsPolicy, deps: &[usize], tests: &[usize]) -> PointsGroup {
        PointsGroup { name: name.into(), points, policy, dependencies: deps.to_vec(), tests: tests.to_vec() }
    }

    fn example() -> Points {
        Points {
            tests: vec![0.0, 10.0, 10.0, 15.0, 15.0, 5.0],
            groups: vec![
                group("0", None, PointsPolicy::CompleteGroup, &[], &[0]),
                group("1", Some(40.0), PointsPolicy::CompleteGroup, &[], &[1, 2]),
                group("2", None, PointsPolicy::EachTest, &[1], &[3, 4]),
            ],
        }
    }

    #[test]
    fn complete_groups_score_all_or_nothing_and_each_test_groups_per_test() {
        let points = example();
        assert_eq!(points.score(&[AC; 6], &[]), 75.0);
        assert_eq!(points.score(&[AC, AC, AC, AC, WA, AC], &[]), 60.0);
        assert_eq!(points.score(&[AC, AC, WA, AC, AC, AC], &[]), 5.0, "group 2 depends on group 1");
        assert_eq!(points.score(&[WA, AC, AC, WA, WA, WA], &[]), 40.0);
        assert_eq!(points.score(&[AC, AC], &[]), 0.0, "tests not run earn nothing");
        assert_eq!(points.score(&[AC, AC, AC], &[]), 40.0);
    }

    #[test]
    fn partial_fractions_scale_a_tests_points_where_tests_count_one_by_one() {
        let points = example();
        let partial = [None, Some(0.5), None, Some(0.5), None, Some(0.2)];
        assert_eq!(points.score(&[AC, AC, AC, WA, AC, WA], &partial), 40.0 + 7.5 + 15.0 + 1.0);
        assert_eq!(points.score(&[AC, WA, AC, AC, AC, AC], &partial), 5.0, "partial never completes a group");
        assert_eq!(points.score(&[AC, AC, AC, WA, AC, WA], &[None, None, None, Some(7.0)]), 70.0, "clamped to 1");
    }
}
