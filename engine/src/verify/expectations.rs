//! What a 2023-07 package promises about its example submissions: the default
//! directories (`accepted`, `rejected`, `wrong_answer`, `time_limit_exceeded`,
//! `run_time_error`, `brute_force`) and the rules of `submissions/submissions.yaml`,
//! each with `permitted` / `required` verdicts (`AC WA TLE RTE`), optionally only for
//! the test cases of a group, and an optional `score` and `message`.

use std::path::Path;

use serde_yaml_ng::{Mapping, Value};

use super::glob::matches_path_or_parent;
use crate::grade::GradeResult;
use crate::Verdict;

#[derive(Debug, thiserror::Error)]
pub enum ExpectationsError {
    #[error("{path}: {message}")]
    Invalid { path: String, message: String },
    #[error("{path}: {source}")]
    Io { path: String, source: std::io::Error },
}

/// The four verdicts the 2023-07 format speaks of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpecVerdict {
    AC,
    WA,
    TLE,
    RTE,
}

impl SpecVerdict {
    const ALL: [SpecVerdict; 4] = [SpecVerdict::AC, SpecVerdict::WA, SpecVerdict::TLE, SpecVerdict::RTE];

    fn parse(text: &str) -> Option<SpecVerdict> {
        Some(match text {
            "AC" => SpecVerdict::AC,
            "WA" => SpecVerdict::WA,
            "TLE" => SpecVerdict::TLE,
            "RTE" => SpecVerdict::RTE,
            _ => return None,
        })
    }

    /// The judge's verdict of one test in the format's terms: a memory or output
    /// overrun is a run-time error there. CE and IE have no counterpart.
    pub fn of(verdict: Verdict) -> Option<SpecVerdict> {
        Some(match verdict {
            Verdict::AC => SpecVerdict::AC,
            Verdict::WA => SpecVerdict::WA,
            Verdict::TLE => SpecVerdict::TLE,
            Verdict::RE | Verdict::MLE | Verdict::OLE => SpecVerdict::RTE,
            Verdict::CE | Verdict::IE => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SpecVerdict::AC => "AC",
            SpecVerdict::WA => "WA",
            SpecVerdict::TLE => "TLE",
            SpecVerdict::RTE => "RTE",
        }
    }
}

/// One rule: constraints on the tests in `scope` (a test-group glob; `None` for all).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Rule {
    pub scope: Option<String>,
    pub permitted: Option<Vec<SpecVerdict>>,
    pub required: Option<Vec<SpecVerdict>>,
    /// Inclusive score range (a single score is a range of one point).
    pub score: Option<(f64, f64)>,
    pub message: Option<String>,
    /// `use_for_time_limit`: `Some(false)` opts out, `Some(true)` ("lower") opts in.
    pub lower_bounds_time_limit: Option<bool>,
}

impl Rule {
    fn permitted(verdicts: &[SpecVerdict]) -> Rule {
        Rule { permitted: Some(verdicts.to_vec()), ..Default::default() }
    }

    fn with_required(mut self, verdicts: &[SpecVerdict]) -> Rule {
        self.required = Some(verdicts.to_vec());
        self
    }

    /// Whether this rule makes its submission a lower bound of the time limit: it may
    /// not time out (or says `use_for_time_limit: lower`), unless it opts out.
    pub fn lower_bounds_time_limit(&self) -> bool {
        match self.lower_bounds_time_limit {
            Some(explicit) => explicit,
            None => self.permitted.as_ref().is_some_and(|p| !p.contains(&SpecVerdict::TLE)),
        }
    }

    /// A short label, e.g. `WA` (required WA, permitted AC/WA) or `secret/g2: TLE`.
    pub fn label(&self) -> String {
        let names = |v: &[SpecVerdict]| v.iter().map(|v| v.as_str()).collect::<Vec<_>>().join("/");
        let mut text = match (&self.required, &self.permitted) {
            (Some(required), _) if required.len() < SpecVerdict::ALL.len() => names(required),
            (_, Some(permitted)) => names(permitted),
            _ => "any".to_string(),
        };
        if let Some((lo, hi)) = self.score {
            text += &if lo == hi { format!(" score {lo}") } else { format!(" score {lo}-{hi}") };
        }
        match &self.scope {
            Some(scope) => format!("{scope}: {text}"),
            None => text,
        }
    }

    /// Checks a graded submission; the error says which constraint failed.
    pub fn check(&self, result: &GradeResult) -> Result<(), String> {
        if result.verdict == Verdict::CE {
            return Err("compile error".into());
        }
        let tests: Vec<_> = result
            .tests
            .iter()
            .filter(|t| self.scope.as_ref().is_none_or(|scope| matches_path_or_parent(scope, &t.name)))
            .collect();
        let where_ = self.scope.as_ref().map(|s| format!(" in {s}")).unwrap_or_default();
        for test in &tests {
            let verdict = SpecVerdict::of(test.verdict);
            let allowed = match (&self.permitted, verdict) {
                (_, None) => false,
                (None, Some(_)) => true,
                (Some(permitted), Some(v)) => permitted.contains(&v),
            };
            if !allowed {
                return Err(format!("{} got {}, not permitted{where_}", test.name, test.verdict));
            }
        }
        let required = self.required.as_deref().unwrap_or(&SpecVerdict::ALL);
        if !tests.iter().any(|t| SpecVerdict::of(t.verdict).is_some_and(|v| required.contains(&v))) {
            let names: Vec<&str> = required.iter().map(|v| v.as_str()).collect();
            return Err(format!("no test{where_} got {}", names.join(" or ")));
        }
        if let (Some((lo, hi)), None) = (self.score, &self.scope) {
            if result.score < lo || result.score > hi {
                return Err(format!("score {} is not in [{lo}, {hi}]", result.score));
            }
        }
        if let Some(message) = &self.message {
            if !tests.iter().any(|t| t.feedback.as_deref().is_some_and(|f| f.contains(message.as_str()))) {
                return Err(format!("no judge message{where_} contains {message:?}"));
            }
        }
        Ok(())
    }
}

/// The default rules of a submissions directory, or `None` for one the format does
/// not define.
pub fn default_rules(directory: &str) -> Option<Rule> {
    use SpecVerdict::*;
    Some(match directory {
        "accepted" => Rule::permitted(&[AC]),
        "rejected" => Rule::default().with_required(&[RTE, TLE, WA]),
        "wrong_answer" => Rule::permitted(&[AC, WA]).with_required(&[WA]),
        "time_limit_exceeded" => Rule::permitted(&[AC, TLE]).with_required(&[TLE]),
        "run_time_error" => Rule::permitted(&[AC, RTE]).with_required(&[RTE]),
        "brute_force" => {
            Rule { lower_bounds_time_limit: Some(false), ..Rule::permitted(&[AC, RTE, TLE]) }.with_required(&[RTE, TLE])
        }
        _ => return None,
    })
}

/// The rules of a package: `(submission glob, rules)` in file order.
#[derive(Clone, Debug, Default)]
pub struct Expectations {
    globs: Vec<(String, Vec<Rule>)>,
    /// Default directories that `submissions.yaml` redefines (by their bare name).
    overrides: Vec<(String, Rule)>,
}

const RULE_KEYS: [&str; 5] = ["permitted", "required", "score", "message", "use_for_time_limit"];

impl Expectations {
    /// Reads `submissions/submissions.yaml` if there is one.
    pub fn load(submissions_dir: &Path) -> Result<Expectations, ExpectationsError> {
        let path = submissions_dir.join("submissions.yaml");
        let shown = path.display().to_string();
        let invalid = |message: String| ExpectationsError::Invalid { path: shown.clone(), message };
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Expectations::default()),
            Err(source) => return Err(ExpectationsError::Io { path: shown.clone(), source }),
        };
        let value: Value = serde_yaml_ng::from_str(&text).map_err(|e| invalid(format!("invalid YAML: {e}")))?;
        let top = match value {
            Value::Null => return Ok(Expectations::default()),
            Value::Mapping(map) => map,
            _ => return Err(invalid("expected a map from submission globs to rules".into())),
        };
        let mut out = Expectations::default();
        for (key, body) in top {
            let glob = key.as_str().ok_or_else(|| invalid(format!("key {key:?} is not a string")))?.to_string();
            let body = body.as_mapping().ok_or_else(|| invalid(format!("{glob}: expected a map of rules")))?;
            let (own, groups) = parse_rules(body, None).map_err(|m| invalid(format!("{glob}: {m}")))?;
            if let Some(base) = default_rules(&glob) {
                // A bare default directory name replaces that default, key by key.
                out.overrides.push((glob.clone(), merge(base, own)));
                out.globs.push((glob, groups));
            } else {
                let mut rules: Vec<Rule> = own.into_iter().collect();
                rules.extend(groups);
                out.globs.push((glob, rules));
            }
        }
        Ok(out)
    }

    /// Every rule that applies to the submission at `path` (relative to `submissions/`,
    /// e.g. `accepted/sum.c`); empty when nothing is promised about it.
    pub fn rules_for(&self, path: &str) -> Vec<Rule> {
        let directory = path.split('/').next().unwrap_or_default();
        let mut rules: Vec<Rule> = match self.overrides.iter().find(|(name, _)| name == directory) {
            Some((_, rule)) => vec![rule.clone()],
            None => default_rules(directory).into_iter().collect(),
        };
        for (glob, extra) in &self.globs {
            if matches_path_or_parent(glob, path) {
                rules.extend(extra.iter().cloned());
            }
        }
        rules
    }
}

/// `base` with every key `own` sets replaced.
fn merge(base: Rule, own: Option<Rule>) -> Rule {
    let Some(own) = own else { return base };
    Rule {
        scope: None,
        permitted: own.permitted.or(base.permitted),
        required: own.required.or(base.required),
        score: own.score.or(base.score),
        message: own.message.or(base.message),
        lower_bounds_time_limit: own.lower_bounds_time_limit.or(base.lower_bounds_time_limit),
    }
}

/// The rule given by the known keys of `body` (if any), and one rule per test-group key.
fn parse_rules(body: &Mapping, scope: Option<&str>) -> Result<(Option<Rule>, Vec<Rule>), String> {
    let mut rule = Rule { scope: scope.map(str::to_string), ..Default::default() };
    let mut any = false;
    let mut groups = Vec::new();
    for (key, value) in body {
        let key = key.as_str().ok_or_else(|| format!("key {key:?} is not a string"))?;
        match key {
            "permitted" => rule.permitted = Some(verdict_list(value, key)?),
            "required" => rule.required = Some(verdict_list(value, key)?),
            "score" => rule.score = Some(score_range(value)?),
            "message" => rule.message = Some(value.as_str().ok_or("message: expected a string")?.to_string()),
            "use_for_time_limit" => {
                rule.lower_bounds_time_limit = match value {
                    Value::Bool(b) => Some(*b),
                    Value::String(s) if s == "lower" => Some(true),
                    // An upper bound is a TLE submission: never a lower bound.
                    Value::String(s) if s == "upper" => Some(false),
                    _ => return Err("use_for_time_limit: expected true, false, lower or upper".into()),
                }
            }
            // Submission metadata that promises nothing about verdicts.
            "language" | "entrypoint" | "authors" | "author" => continue,
            group if scope.is_none() => {
                let map = value.as_mapping().ok_or_else(|| format!("{group}: expected a map of rules"))?;
                let (own, nested) = parse_rules(map, Some(group))?;
                if !nested.is_empty() {
                    return Err(format!("{group}: test groups do not nest"));
                }
                groups.extend(own);
                continue;
            }
            other => return Err(format!("{other}: unknown key (expected one of {})", RULE_KEYS.join(", "))),
        }
        any = true;
    }
    Ok((any.then_some(rule), groups))
}

fn verdict_list(value: &Value, key: &str) -> Result<Vec<SpecVerdict>, String> {
    let items = value.as_sequence().ok_or_else(|| format!("{key}: expected a list of verdicts"))?;
    items
        .iter()
        .map(|item| {
            item.as_str()
                .and_then(SpecVerdict::parse)
                .ok_or_else(|| format!("{key}: {item:?} is not one of AC, WA, TLE, RTE"))
        })
        .collect()
}

fn score_range(value: &Value) -> Result<(f64, f64), String> {
    let number = |v: &Value| v.as_f64().ok_or_else(|| format!("score: {v:?} is not a number"));
    match value {
        Value::Sequence(items) if items.len() == 2 => Ok((number(&items[0])?, number(&items[1])?)),
        Value::Sequence(_) => Err("score: expected a number or a list of two numbers".into()),
        single => number(single).map(|s| (s, s)),
    }
}

#[cfg(test)]
#[path = "expectations_tests.rs"]
mod tests;
