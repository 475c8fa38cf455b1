//! ICPC / Kattis problem packages (legacy layout and 2023-07-draft), and
//! problems given inline over HTTP.
//!
//! What is implemented of the package format:
//! - `problem.yaml` (optional; missing means all defaults). The format is "legacy" unless
//!   `problem_format_version` names another version (e.g. `2023-07-draft`), which selects
//!   the 2023-07 reading of `type` and of scoring. Keys are read from a
//!   `serde_yaml::Value` so errors name the file and the key; unknown keys are ignored.
//!   - `type`: a string or a list of `pass-fail`, `scoring`, `interactive` (the 2023-07
//!     values are accepted in legacy packages too; `multi-pass` and `submit-answer` are
//!     refused).
//!   - `validation: default | custom [interactive] [score]` and `validator_flags` (legacy;
//!     also honoured in a 2023-07 package that carries them).
//!   - `limits.time_limit` (s), else a `.timelimit` file, else none; `limits.memory` (MiB,
//!     default 256); `limits.output` (MiB, default 64); `limits.time_multiplier` /
//!     `time_safety_margin` (legacy) or `limits.time_multipliers.{ac_to_time_limit,
//!     time_limit_to_tle}` (2023-07) for `judge verify`.
//!   - `grading.{accept_score, reject_score, on_reject}` (deprecated legacy location) as
//!     defaults for every test group.
//! - Output validator: legacy `output_validators/` holding one program (a directory of
//!   sources or a single file; several loose files are taken as one program), used only
//!   when `validation` is custom; 2023-07 `output_validator/` (or `output_validators/`),
//!   used whenever present. Custom/interactive without a validator is an error.
//! - Test data: `data/sample/**` then `data/secret/**`, `.in` with `.ans` (the `.ans` may
//!   be missing for interactive problems only). In every directory the entries are sorted
//!   by file name and test files and subgroups interleave in that order, as problemtools
//!   does. Other directories of `data/` (e.g. `invalid_output/`) are ignored.
//! - `testdata.yaml` (or the newer name `test_group.yaml`) in `data/` or any group
//!   directory, keys inherited one by one from the closest ancestor that sets them:
//!   `output_validator_flags` (string, or map with `flags`) / `output_validator_args`
//!   (list or string), `accept_score`, `reject_score`, `grader_flags`, `on_reject`. A
//!   per-test `<name>.yaml` may override `output_validator_args`. The effective validator
//!   flags of a test are the problem's `validator_flags` followed by these.
//! - Scoring (see [`Problem::score`]): legacy default grader (accept/reject scores,
//!   `sum|avg|min|max` grader flags, sample ignored) and 2023-07 `scoring: {score,
//!   aggregation}` (also accepted as top-level `score`/`aggregation` keys) with the
//!   spec's maximum-score inference.
//!
//! Not implemented: custom graders (`grading: custom`), score files from validators
//! (`score.txt` / `score_multiplier.txt`), `range`, `require_pass`, verdict aggregation of
//! groups (`accept_if_any_accepted`, ...), `.files` directories, per-test `args`,
//! `include/`, input validators, submissions given as directories.

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use serde_yaml::Value;

use crate::sandbox::Input;
use crate::Verdict;

#[derive(Debug, thiserror::Error)]
pub enum ProblemError {
    #[error("{0}")]
    Invalid(String),
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
}

/// Test data: a file of the package, or bytes given inline.
#[derive(Clone, Debug)]
pub enum TestData {
    File(PathBuf),
    Bytes(Arc<Vec<u8>>),
}

impl TestData {
    pub fn read(&self) -> std::io::Result<Vec<u8>> {
        match self {
            TestData::File(p) => std::fs::read(p),
            TestData::Bytes(b) => Ok(b.as_ref().clone()),
        }
    }
}

#[derive(Clone, Debug)]
pub struct TestCase {
    /// e.g. "sample/1", "secret/group1/03" (path under data/ without extension).
    pub name: String,
    /// e.g. "sample", "secret", "secret/group1".
    pub group: String,
    pub input: TestData,
    pub answer: TestData,
    /// Effective output validator flags for this test (problem + testdata.yaml).
    pub validator_flags: Vec<String>,
    /// The input as a sealed memfd, made on first use and shared by every
    /// run (and every clone of the problem) after that.
    pub stdin_cache: Arc<OnceLock<Input>>,
}

impl TestCase {
    /// The input, sealed in a memfd once and reused by every run.
    pub fn stdin(&self) -> std::io::Result<Input> {
        if let Some(input) = self.stdin_cache.get() {
            return Ok(input.clone());
        }
        let input = match &self.input {
            TestData::File(path) => Input::from_file(path)?,
            TestData::Bytes(bytes) => Input::from_bytes(bytes)?,
        };
        Ok(self.stdin_cache.get_or_init(|| input).clone())
    }

    /// Whether the test belongs to `data/sample` (or a subgroup of it).
    pub fn is_sample(&self) -> bool {
        self.group == "sample" || self.group.starts_with("sample/")
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum ValidatorSpec {
    Default,
    /// A single source file or a directory of sources.
    Custom(PathBuf),
}

/// What happens after a rejected test in a group (legacy `on_reject`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OnReject {
    #[default]
    Break,
    Continue,
}

/// A 2023-07 group's maximum score.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum MaxScore {
    Bounded(f64),
    Unbounded,
}

/// A 2023-07 group's score aggregation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Aggregation {
    PassFail,
    Sum,
    Min,
}

/// One test data group (a directory under data/) and its settings after inheritance.
#[derive(Clone, Debug, PartialEq)]
pub struct TestGroup {
    /// e.g. "sample", "secret", "secret/group1".
    pub path: String,
    /// Legacy: score of an accepted test directly in this group (default 1).
    pub accept_score: f64,
    /// Legacy: score of a rejected test directly in this group (default 0).
    pub reject_score: f64,
    /// Legacy default-grader flags (inherited).
    pub grader_flags: Vec<String>,
    pub on_reject: OnReject,
    /// 2023-07 `score` set on this very group (not inherited).
    pub score: Option<MaxScore>,
    /// 2023-07 `aggregation` set on this very group (not inherited).
    pub aggregation: Option<Aggregation>,
}

impl TestGroup {
    fn new(path: &str) -> TestGroup {
        TestGroup {
            path: path.to_string(),
            accept_score: 1.0,
            reject_score: 0.0,
            grader_flags: Vec::new(),
            on_reject: OnReject::Break,
            score: None,
            aggregation: None,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Problem {
    pub name: String,
    pub dir: Option<PathBuf>,
    /// Seconds, from problem.yaml or .timelimit; None when the package gives none.
    pub time_limit: Option<f64>,
    pub memory_mib: u64,
    pub output_mib: u64,
    pub interactive: bool,
    pub scoring: bool,
    pub validator: ValidatorSpec,
    /// All tests in judging order (sample first, then secret, lexicographic).
    pub tests: Vec<TestCase>,
    /// `problem_format_version` ("legacy" when absent).
    pub format_version: String,
    /// The `name` of problem.yaml (English, or the first language given), if any.
    pub title: Option<String>,
    /// Problem-level validator flags (legacy `validator_flags`); already included in
    /// every test's `validator_flags`.
    pub validator_flags: Vec<String>,
    /// Time limit = slowest accepted run times this (legacy `time_multiplier`, 2023-07
    /// `time_multipliers.ac_to_time_limit`; default 2).
    pub time_multiplier: f64,
    /// Legacy `time_safety_margin` (default 2) or 2023-07
    /// `time_multipliers.time_limit_to_tle` (default 1.5).
    pub time_safety_margin: f64,
    /// The test groups, parents before children, in judging order.
    pub groups: Vec<TestGroup>,
}

pub use crate::limits::{DEFAULT_MEMORY_MIB, DEFAULT_OUTPUT_MIB};
const MAX_GROUP_DEPTH: usize = 32;

fn invalid(msg: String) -> ProblemError {
    ProblemError::Invalid(msg)
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> ProblemError + '_ {
    move |source| ProblemError::Io { path: path.to_path_buf(), source }
}

/// A short description of a YAML value for error messages.
fn describe(v: &Value) -> String {
    match v {
        Value::Null => "nothing".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => {
            let short: String = s.chars().take(60).collect();
            format!("{short:?}")
        }
        Value::Sequence(_) => "a list".into(),
        Value::Mapping(_) => "a map".into(),
        Value::Tagged(t) => format!("a value tagged {}", t.tag),
    }
}

/// Reads a YAML file into a map value; a missing file is `None`, an empty one an empty map.
fn read_yaml(path: &Path) -> Result<Option<Value>, ProblemError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_err(path)(e)),
    };
    let value: Value =
        serde_yaml::from_str(&text).map_err(|e| invalid(format!("{}: invalid YAML: {e}", path.display())))?;
    match value {
        Value::Null => Ok(Some(Value::Mapping(Default::default()))),
        Value::Mapping(_) => Ok(Some(value)),
        other => Err(invalid(format!("{}: expected a map of keys, got {}", path.display(), describe(&other)))),
    }
}

/// Key lookups on a YAML map that produce errors naming the file and the key.
struct Doc<'a> {
    file: &'a Path,
}

impl Doc<'_> {
    fn err(&self, key: &str, want: &str, v: &Value) -> ProblemError {
        invalid(format!("{}: {key}: expected {want}, got {}", self.file.display(), describe(v)))
    }

    /// `map[key]`, treating an explicit null as absent.
    fn get<'v>(&self, map: &'v Value, key: &str) -> Option<&'v Value> {
        map.get(key).filter(|v| !v.is_null())
    }

    fn map<'v>(&self, map: &'v Value, key: &str) -> Result<Option<&'v Value>, ProblemError> {
        match self.get(map, key) {
            None => Ok(None),
            Some(v @ Value::Mapping(_)) => Ok(Some(v)),
            Some(v) => Err(self.err(key, "a map", v)),
        }
    }

    fn string(&self, map: &Value, key: &str, path: &str) -> Result<Option<String>, ProblemError> {
        match self.get(map, key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(Value::Bool(b)) => Ok(Some(b.to_string())),
            Some(v) => Err(self.err(path, "a string", v)),
        }
    }

    fn number(&self, map: &Value, key: &str, path: &str) -> Result<Option<f64>, ProblemError> {
        let Some(v) = self.get(map, key) else { return Ok(None) };
        let n = match v {
            Value::Number(n) => n.as_f64(),
            Value::String(s) => s.trim().parse::<f64>().ok(),
            _ => None,
        };
        match n {
            Some(n) if n.is_finite() => Ok(Some(n)),
            _ => Err(self.err(path, "a number", v)),
        }
    }

    fn positive(&self, map: &Value, key: &str, path: &str) -> Result<Option<f64>, ProblemError> {
        match self.number(map, key, path)? {
            Some(n) if n <= 0.0 => Err(self.err(path, "a positive number", &self.get(map, key).unwrap().clone())),
            n => Ok(n),
        }
    }

    /// Validator arguments: a whitespace-separated string or a list of scalars.
    fn args(&self, v: &Value, path: &str) -> Result<Vec<String>, ProblemError> {
        match v {
            Value::String(s) => Ok(s.split_whitespace().map(String::from).collect()),
            Value::Number(n) => Ok(vec![n.to_string()]),
            Value::Sequence(items) => items
                .iter()
                .map(|item| match item {
                    Value::String(s) => Ok(s.clone()),
                    Value::Number(n) => Ok(n.to_string()),
                    Value::Bool(b) => Ok(b.to_string()),
                    other => Err(self.err(path, "a list of strings", other)),
                })
                .collect(),
            other => Err(self.err(path, "a string or a list of strings", other)),
        }
    }

    /// `output_validator_flags` / `output_validator_args` of a testdata.yaml or per-test yaml.
    fn validator_args(&self, map: &Value) -> Result<Option<Vec<String>>, ProblemError> {
        if let Some(v) = self.get(map, "output_validator_args") {
            return self.args(v, "output_validator_args").map(Some);
        }
        match self.get(map, "output_validator_flags") {
            None => Ok(None),
            // Legacy map form: {name: VALIDATOR, flags: "..."}.
            Some(m @ Value::Mapping(_)) => match self.get(m, "flags") {
                None => Ok(Some(Vec::new())),
                Some(f) => self.args(f, "output_validator_flags.flags").map(Some),
            },
            Some(v) => self.args(v, "output_validator_flags").map(Some),
        }
    }
}

fn is_legacy(version: &str) -> bool {
    version == "legacy" || version == "legacy-icpc"
}

fn hidden(name: &OsString) -> bool {
    name.to_string_lossy().starts_with('.')
}

/// Non-hidden entries of a directory, sorted by file name (bytewise, like Python's sort of
/// `os.listdir`), with whether each is a directory (symlinks followed).
fn sorted_entries(dir: &Path) -> Result<Vec<(OsString, PathBuf, bool)>, ProblemError> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io_err(dir))? {
        let entry = entry.map_err(io_err(dir))?;
        let name = entry.file_name();
        if hidden(&name) {
            continue;
        }
        let path = entry.path();
        let is_dir = std::fs::metadata(&path).map(|m| m.is_dir()).unwrap_or(false);
        out.push((name, path, is_dir));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

/// Settings inherited key by key from the closest testdata.yaml that sets them.
#[derive(Clone)]
struct Inherited {
    validator_args: Vec<String>,
    accept_score: f64,
    reject_score: f64,
    grader_flags: Vec<String>,
    on_reject: OnReject,
}

struct Loader<'a> {
    data: &'a Path,
    interactive: bool,
    problem_flags: &'a [String],
    tests: Vec<TestCase>,
    groups: Vec<TestGroup>,
}

impl Loader<'_> {
    /// Reads the group config of `dir` on top of `parent`.
    fn group_config(&self, dir: &Path, rel: &str, parent: &Inherited) -> Result<(Inherited, TestGroup), ProblemError> {
        let mut inh = parent.clone();
        let mut group = TestGroup::new(rel);
        let mut yaml = None;
        for file in ["testdata.yaml", "test_group.yaml"] {
            let path = dir.join(file);
            if let Some(v) = read_yaml(&path)? {
                yaml = Some((path, v));
                break;
            }
        }
        if let Some((path, map)) = yaml {
            let doc = Doc { file: &path };
            if let Some(args) = doc.validator_args(&map)? {
                inh.validator_args = args;
            }
            if let Some(s) = doc.number(&map, "accept_score", "accept_score")? {
                inh.accept_score = s;
            }
            if let Some(s) = doc.number(&map, "reject_score", "reject_score")? {
                inh.reject_score = s;
            }
            if let Some(v) = doc.get(&map, "grader_flags") {
                inh.grader_flags = doc.args(v, "grader_flags")?;
            }
            if let Some(s) = doc.string(&map, "on_reject", "on_reject")? {
                inh.on_reject = parse_on_reject(&s).ok_or_else(|| {
                    invalid(format!("{}: on_reject: expected \"break\" or \"continue\", got {s:?}", path.display()))
                })?;
            }
            // 2023-07: `scoring: {score, aggregation}`, or the same keys at top level.
            let scoring = doc.map(&map, "scoring")?;
            for (holder, prefix) in [(Some(&map), ""), (scoring, "scoring.")] {
                let Some(holder) = holder else { continue };
                if let Some(v) = doc.get(holder, "score") {
                    let key = format!("{prefix}score");
                    group.score = Some(match v {
                        Value::String(s) if s == "unbounded" => MaxScore::Unbounded,
                        _ => match doc.number(holder, "score", &key)? {
                            Some(n) if n >= 0.0 => MaxScore::Bounded(n),
                            _ => return Err(doc.err(&key, "a non-negative number or \"unbounded\"", v)),
                        },
                    });
                }
                if let Some(s) = doc.string(holder, "aggregation", &format!("{prefix}aggregation"))? {
                    group.aggregation = Some(match s.as_str() {
                        "pass-fail" => Aggregation::PassFail,
                        "sum" => Aggregation::Sum,
                        "min" => Aggregation::Min,
                        _ => {
                            return Err(invalid(format!(
                                "{}: {prefix}aggregation: expected \"pass-fail\", \"sum\" or \"min\", got {s:?}",
                                path.display()
                            )))
                        }
                    });
                }
            }
        }
        group.accept_score = inh.accept_score;
        group.reject_score = inh.reject_score;
        group.grader_flags = inh.grader_flags.clone();
        group.on_reject = inh.on_reject;
        Ok((inh, group))
    }

    fn walk(&mut self, dir: &Path, rel: &str, parent: &Inherited) -> Result<(), ProblemError> {
        // Also stops symlink loops.
        if rel.matches('/').count() >= MAX_GROUP_DEPTH {
            return Err(invalid(format!("{}: test groups nested too deeply", dir.display())));
        }
        let (inh, group) = self.group_config(dir, rel, parent)?;
        self.groups.push(group);
        for (name, path, is_dir) in sorted_entries(dir)? {
            let name = name.to_string_lossy().into_owned();
            if is_dir {
                self.walk(&path, &format!("{rel}/{name}"), &inh)?;
                continue;
            }
            let Some(base) = name.strip_suffix(".in") else { continue };
            if base.is_empty() {
                continue;
            }
            let ans = dir.join(format!("{base}.ans"));
            let answer = if ans.is_file() {
                TestData::File(ans)
            } else if self.interactive {
                TestData::Bytes(Arc::new(Vec::new()))
            } else {
                return Err(invalid(format!(
                    "{}: test input without answer file (expected {})",
                    path.display(),
                    ans.display()
                )));
            };
            let mut args = inh.validator_args.clone();
            let case_yaml = dir.join(format!("{base}.yaml"));
            if let Some(map) = read_yaml(&case_yaml)? {
                if let Some(own) = (Doc { file: &case_yaml }).validator_args(&map)? {
                    args = own;
                }
            }
            let mut validator_flags = self.problem_flags.to_vec();
            validator_flags.extend(args);
            self.tests.push(TestCase {
                name: format!("{rel}/{base}"),
                group: rel.to_string(),
                input: TestData::File(path),
                answer,
                validator_flags,
                stdin_cache: Arc::default(),
            });
        }
        Ok(())
    }
}

fn parse_on_reject(s: &str) -> Option<OnReject> {
    match s {
        "break" | "first_error" => Some(OnReject::Break),
        "continue" | "grade" => Some(OnReject::Continue),
        _ => None,
    }
}

/// The program in an `output_validators/` directory: its single entry (a directory of
/// sources or one file), or the directory itself when it holds only loose files.
fn find_validator_in(dir: &Path) -> Result<Option<PathBuf>, ProblemError> {
    if !dir.is_dir() {
        return Ok(None);
    }
    let entries = sorted_entries(dir)?;
    match entries.len() {
        0 => Ok(None),
        1 => Ok(Some(entries[0].1.clone())),
        _ if entries.iter().all(|e| !e.2) => Ok(Some(dir.to_path_buf())),
        _ => {
            let names: Vec<String> = entries.iter().map(|e| e.0.to_string_lossy().into_owned()).collect();
            Err(invalid(format!(
                "{}: several output validators ({}); only one is supported",
                dir.display(),
                names.join(", ")
            )))
        }
    }
}

impl Problem {
    pub fn load(dir: &Path) -> Result<Problem, ProblemError> {
        let given = dir;
        let dir = std::fs::canonicalize(given).map_err(io_err(given))?;
        if !dir.is_dir() {
            return Err(invalid(format!("{}: not a directory", dir.display())));
        }
        // The name the caller used (a symlink's own name), else the real directory's.
        let name =
            given.file_name().or_else(|| dir.file_name()).map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();

        let yaml_path = dir.join("problem.yaml");
        let yaml = read_yaml(&yaml_path)?.unwrap_or(Value::Mapping(Default::default()));
        let doc = Doc { file: &yaml_path };

        let format_version = doc
            .string(&yaml, "problem_format_version", "problem_format_version")?
            .unwrap_or_else(|| "legacy".to_string());
        let legacy = is_legacy(&format_version);

        let title = match doc.get(&yaml, "name") {
            Some(Value::String(s)) => Some(s.clone()),
            Some(m @ Value::Mapping(map)) => {
                m.get("en").or_else(|| map.values().next()).and_then(|v| v.as_str()).map(String::from)
            }
            _ => None,
        };

        // Problem type.
        let mut scoring = false;
        let mut interactive = false;
        if let Some(v) = doc.get(&yaml, "type") {
            // The 2023-07 values are accepted whatever the version: a package that says
            // `type: interactive` means it.
            let types: Vec<&Value> = match v {
                Value::Sequence(items) if !items.is_empty() => items.iter().collect(),
                Value::String(_) => vec![v],
                _ => return Err(doc.err("type", "a problem type or a list of them", v)),
            };
            let mut pass_fail = false;
            for t in types {
                let Some(t) = t.as_str() else { return Err(doc.err("type", "a list of strings", t)) };
                match t {
                    "pass-fail" => pass_fail = true,
                    "scoring" => scoring = true,
                    "interactive" => interactive = true,
                    "multi-pass" | "submit-answer" => {
                        return Err(invalid(format!("{}: type: {t:?} problems are not supported", yaml_path.display())))
                    }
                    _ => {
                        let want = "pass-fail, scoring or interactive";
                        return Err(doc.err("type", want, &Value::String(t.to_string())));
                    }
                }
            }
            if pass_fail && scoring {
                return Err(invalid(format!(
                    "{}: type: pass-fail and scoring exclude each other",
                    yaml_path.display()
                )));
            }
        }

        // Legacy validation (also honoured when a newer package carries it).
        let mut custom = false;
        if let Some(validation) = doc.string(&yaml, "validation", "validation")? {
            let words: Vec<&str> = validation.split_whitespace().collect();
            let well_formed = match words.split_first() {
                Some((&"default", rest)) => rest.is_empty(),
                Some((&"custom", rest)) => rest.iter().all(|w| *w == "interactive" || *w == "score"),
                _ => false,
            };
            if !well_formed {
                return Err(doc.err(
                    "validation",
                    "\"default\" or \"custom\" optionally followed by \"interactive\" and/or \"score\"",
                    &Value::String(validation.clone()),
                ));
            }
            custom = words[0] == "custom";
            interactive |= words.contains(&"interactive");
            if words.contains(&"score") {
                scoring = true;
            }
        }
        let validator_flags = match doc.get(&yaml, "validator_flags") {
            None => Vec::new(),
            Some(v) => doc.args(v, "validator_flags")?,
        };

        // Limits.
        let mut time_limit = None;
        let mut memory_mib = DEFAULT_MEMORY_MIB;
        let mut output_mib = DEFAULT_OUTPUT_MIB;
        let mut time_multiplier = 2.0;
        let mut time_safety_margin = if legacy { 2.0 } else { 1.5 };
        if let Some(limits) = doc.map(&yaml, "limits")? {
            time_limit = doc.positive(limits, "time_limit", "limits.time_limit")?;
            if let Some(m) = doc.positive(limits, "memory", "limits.memory")? {
                memory_mib = m.ceil() as u64;
            }
            if let Some(m) = doc.positive(limits, "output", "limits.output")? {
                output_mib = m.ceil() as u64;
            }
            if let Some(m) = doc.positive(limits, "time_multiplier", "limits.time_multiplier")? {
                time_multiplier = m;
            }
            if let Some(m) = doc.positive(limits, "time_safety_margin", "limits.time_safety_margin")? {
                time_safety_margin = m;
            }
            if let Some(tm) = limits.get("time_multipliers").filter(|v| !v.is_null()) {
                if !tm.is_mapping() {
                    return Err(doc.err("limits.time_multipliers", "a map", tm));
                }
                if let Some(m) = doc.positive(tm, "ac_to_time_limit", "limits.time_multipliers.ac_to_time_limit")? {
                    time_multiplier = m;
                }
                if let Some(m) = doc.positive(tm, "time_limit_to_tle", "limits.time_multipliers.time_limit_to_tle")? {
                    time_safety_margin = m;
                }
            }
        }
        if time_limit.is_none() {
            let path = dir.join(".timelimit");
            match std::fs::read_to_string(&path) {
                Ok(text) => {
                    let t = text.trim();
                    match t.parse::<f64>() {
                        Ok(v) if v.is_finite() && v > 0.0 => time_limit = Some(v),
                        _ => {
                            return Err(invalid(format!(
                                "{}: expected a positive number of seconds, got {t:?}",
                                path.display()
                            )))
                        }
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(io_err(&path)(e)),
            }
        }

        // Deprecated legacy `grading` keys act as defaults for every group.
        let mut root = Inherited {
            validator_args: Vec::new(),
            accept_score: 1.0,
            reject_score: 0.0,
            grader_flags: Vec::new(),
            on_reject: OnReject::Break,
        };
        if let Some(grading) = doc.map(&yaml, "grading")? {
            if let Some(s) = doc.number(grading, "accept_score", "grading.accept_score")? {
                root.accept_score = s;
            }
            if let Some(s) = doc.number(grading, "reject_score", "grading.reject_score")? {
                root.reject_score = s;
            }
            if let Some(s) = doc.string(grading, "on_reject", "grading.on_reject")? {
                root.on_reject = parse_on_reject(&s).ok_or_else(|| {
                    invalid(format!(
                        "{}: grading.on_reject: expected \"break\" or \"continue\", got {s:?}",
                        yaml_path.display()
                    ))
                })?;
            }
        }

        // Output validator.
        let validator = if legacy {
            if custom || interactive {
                let single = dir.join("output_validator");
                let found = match find_validator_in(&dir.join("output_validators"))? {
                    Some(p) => Some(p),
                    None if single.is_dir() && !sorted_entries(&single)?.is_empty() => Some(single),
                    None => None,
                };
                match found {
                    Some(p) => ValidatorSpec::Custom(p),
                    None => {
                        return Err(invalid(format!(
                            "{}: validation is custom but there is no output validator (expected {}/<name>/)",
                            yaml_path.display(),
                            dir.join("output_validators").display()
                        )))
                    }
                }
            } else {
                ValidatorSpec::Default
            }
        } else {
            let single = dir.join("output_validator");
            let found = if single.is_dir() {
                if sorted_entries(&single)?.is_empty() {
                    return Err(invalid(format!("{}: empty output validator directory", single.display())));
                }
                Some(single.clone())
            } else {
                find_validator_in(&dir.join("output_validators"))?
            };
            match found {
                Some(p) => ValidatorSpec::Custom(p),
                None if custom || interactive => {
                    let why = if interactive { "the problem is interactive" } else { "validation is custom" };
                    return Err(invalid(format!(
                        "{}: {why} but there is no output validator (expected {}/)",
                        dir.display(),
                        single.display()
                    )));
                }
                None => ValidatorSpec::Default,
            }
        };

        // Test data.
        let data = dir.join("data");
        let mut loader =
            Loader { data: &data, interactive, problem_flags: &validator_flags, tests: Vec::new(), groups: Vec::new() };
        if data.is_dir() {
            // data/testdata.yaml applies to both sample and secret.
            let (root_inh, _) = loader.group_config(loader.data, "", &root)?;
            for top in ["sample", "secret"] {
                let group_dir = data.join(top);
                if group_dir.is_dir() {
                    loader.walk(&group_dir, top, &root_inh)?;
                }
            }
        }
        let Loader { tests, groups, .. } = loader;
        if tests.is_empty() {
            return Err(invalid(format!(
                "{}: no test cases (expected data/sample/*.in or data/secret/**/*.in with .ans files)",
                dir.display()
            )));
        }

        Ok(Problem {
            name,
            dir: Some(dir),
            time_limit,
            memory_mib,
            output_mib,
            interactive,
            scoring,
            validator,
            tests,
            format_version,
            title,
            validator_flags,
            time_multiplier,
            time_safety_margin,
            groups,
        })
    }

    /// `tests` are (name, input, answer).
    pub fn inline(
        name: &str,
        tests: Vec<(String, Vec<u8>, Vec<u8>)>,
        time_limit: f64,
        memory_mib: u64,
        output_mib: u64,
        validator_flags: Vec<String>,
    ) -> Problem {
        let tests = tests
            .into_iter()
            .map(|(test_name, input, answer)| TestCase {
                name: test_name,
                group: "secret".to_string(),
                input: TestData::Bytes(Arc::new(input)),
                answer: TestData::Bytes(Arc::new(answer)),
                validator_flags: validator_flags.clone(),
                stdin_cache: Arc::default(),
            })
            .collect();
        Problem {
            name: name.to_string(),
            dir: None,
            time_limit: Some(time_limit),
            memory_mib,
            output_mib,
            interactive: false,
            scoring: false,
            validator: ValidatorSpec::Default,
            tests,
            format_version: "legacy".to_string(),
            title: None,
            validator_flags,
            time_multiplier: 2.0,
            time_safety_margin: 2.0,
            groups: vec![TestGroup::new("secret")],
        }
    }

    /// Score from verdicts aligned with `tests`; a missing verdict (test not run) counts
    /// as not accepted.
    ///
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

    /// Files under submissions/<kind>/ as (kind, path), sorted.
    pub fn submissions(&self) -> Result<Vec<(String, PathBuf)>, ProblemError> {
        let Some(dir) = &self.dir else { return Ok(Vec::new()) };
        let root = dir.join("submissions");
        if !root.is_dir() {
            return Ok(Vec::new());
        }
        let mut out = Vec::new();
        for (kind, kind_dir, is_dir) in sorted_entries(&root)? {
            if !is_dir {
                continue;
            }
            let kind = kind.to_string_lossy().into_owned();
            for (_, path, is_dir) in sorted_entries(&kind_dir)? {
                if !is_dir {
                    out.push((kind.clone(), path));
                }
            }
        }
        out.sort();
        Ok(out)
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A scratch problem package, removed on drop.
    struct Pkg {
        root: tempfile::TempDir,
        dir: PathBuf,
    }

    impl Pkg {
        fn new(name: &str) -> Pkg {
            let root = tempfile::Builder::new().prefix("judge-problem-test-").tempdir().unwrap();
            let dir = root.path().join(name);
            std::fs::create_dir_all(&dir).unwrap();
            Pkg { root, dir }
        }

        fn file(&self, rel: &str, content: &str) -> &Self {
            let path = self.dir.join(rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, content).unwrap();
            self
        }

        /// `.in` and `.ans` for each name (path under data/ without extension).
        fn tests(&self, names: &[&str]) -> &Self {
            for n in names {
                self.file(&format!("data/{n}.in"), &format!("in {n}\n"));
                self.file(&format!("data/{n}.ans"), &format!("ans {n}\n"));
            }
            self
        }

        fn load(&self) -> Result<Problem, ProblemError> {
            Problem::load(&self.dir)
        }

        fn err(&self) -> String {
            match self.load() {
                Ok(_) => panic!("expected an error"),
                Err(e) => e.to_string(),
            }
        }
    }

    fn names(p: &Problem) -> Vec<&str> {
        p.tests.iter().map(|t| t.name.as_str()).collect()
    }

    fn verdicts(s: &str) -> Vec<Verdict> {
        s.chars().map(|c| if c == 'A' { Verdict::AC } else { Verdict::WA }).collect()
    }

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
        let link = pkg.root.path().join("alias");
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
    fn malformed_problem_yaml() {
        let cases = [
            ("limits:\n  memory: abc\n", "limits.memory: expected a number, got \"abc\""),
            ("limits:\n  time_limit: -1\n", "limits.time_limit: expected a positive number, got -1"),
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
        let g1 = p.groups.iter().find(|g| g.path == "secret/g1").unwrap();
        let deep = p.groups.iter().find(|g| g.path == "secret/g1/deep").unwrap();
        assert_eq!((g1.accept_score, deep.accept_score), (5.0, 5.0));
    }

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
        pkg.tests(&[
            "sample/1",
            "secret/g1/1",
            "secret/g1/2",
            "secret/g2/1",
            "secret/g2/2",
            "secret/g2/3",
            "secret/loose",
        ]);
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

    #[test]
    fn inline_problem() {
        let p = Problem::inline(
            "adhoc",
            vec![("1".into(), b"1 2\n".to_vec(), b"3\n".to_vec()), ("2".into(), b"".to_vec(), b"0\n".to_vec())],
            1.5,
            128,
            16,
            vec!["case_sensitive".into()],
        );
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
}
