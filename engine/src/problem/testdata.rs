//! Walking `data/`: test groups, their `testdata.yaml` settings (inherited key by key),
//! and the test cases with their effective validator flags.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_yaml_ng::Value;

use super::yaml::{read_yaml, Doc};
use super::{
    invalid, sorted_entries, Aggregation, MaxScore, OnReject, PackageFile, ProblemError, TestCase, TestData, TestGroup,
};
use crate::package_fs::{EntryKind, PackageDir, PackageFsError};
use crate::validate;

/// Deeper nesting is refused; this also stops symlink loops.
const MAX_GROUP_DEPTH: usize = 32;

/// Settings inherited key by key from the closest testdata.yaml that sets them.
#[derive(Clone)]
pub(super) struct Inherited {
    pub(super) validator_args: Vec<String>,
    /// The file that set `validator_args`, named when a flag in them is bad.
    pub(super) validator_args_file: Option<PathBuf>,
    pub(super) accept_score: f64,
    pub(super) reject_score: f64,
    pub(super) grader_flags: Vec<String>,
    pub(super) on_reject: OnReject,
}

pub(super) struct Loader<'a> {
    /// The package every file is read beneath.
    pub(super) pkg: &'a Arc<PackageDir>,
    pub(super) interactive: bool,
    /// Whether the default validator judges: then every test's flags are parsed.
    pub(super) default_validator: bool,
    /// The problem's own `validator_flags` and the file they came from.
    pub(super) problem_flags: &'a [String],
    pub(super) problem_yaml: &'a Path,
    pub(super) tests: Vec<TestCase>,
    pub(super) groups: Vec<TestGroup>,
}

impl Loader<'_> {
    /// Reads the group config of package directory `dir` (e.g. `data/secret/g`) on top
    /// of `parent`; `rel` is the group's name (e.g. `secret/g`).
    pub(super) fn group_config(
        &self,
        dir: &str,
        rel: &str,
        parent: &Inherited,
    ) -> Result<(Inherited, TestGroup), ProblemError> {
        let mut inh = parent.clone();
        let mut group = TestGroup::new(rel);
        let mut yaml = None;
        for file in ["testdata.yaml", "test_group.yaml"] {
            let file_rel = format!("{dir}/{file}");
            if let Some(v) = read_yaml(self.pkg, &file_rel)? {
                yaml = Some((self.pkg.path().join(file_rel), v));
                break;
            }
        }
        if let Some((path, map)) = yaml {
            let doc = Doc { file: &path };
            if let Some(args) = doc.validator_args(&map)? {
                inh.validator_args = args;
                inh.validator_args_file = Some(path.clone());
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

    /// Walks group `rel` (e.g. `secret/g`, the directory `data/secret/g`).
    pub(super) fn walk(&mut self, rel: &str, parent: &Inherited) -> Result<(), ProblemError> {
        let pkg = self.pkg;
        let dir = format!("data/{rel}");
        if rel.matches('/').count() >= MAX_GROUP_DEPTH {
            return Err(invalid(format!("{}: {dir}: test groups nested too deeply", pkg.path().display())));
        }
        let (inh, group) = self.group_config(&dir, rel, parent)?;
        self.groups.push(group);
        for entry in sorted_entries(pkg, &dir)? {
            // A name that is not UTF-8 cannot be paired with its .ans: say so.
            let name = entry.utf8_name(pkg)?;
            match entry.kind {
                EntryKind::Dir => {
                    self.walk(&format!("{rel}/{name}"), &inh)?;
                    continue;
                }
                EntryKind::File => {}
                EntryKind::Other(kind) if name.ends_with(".in") || name.ends_with(".ans") => {
                    return Err(PackageFsError::NotRegular {
                        root: pkg.path().to_path_buf(),
                        file: entry.rel.clone().into(),
                        kind,
                    }
                    .into());
                }
                EntryKind::Other(_) => continue,
            }
            let Some(base) = name.strip_suffix(".in") else { continue };
            if base.is_empty() {
                continue;
            }
            let ans = format!("{dir}/{base}.ans");
            let answer = match pkg.kind(Path::new(&ans))? {
                Some(_) => TestData::File(self.checked_file(&ans)?),
                None if self.interactive => TestData::Bytes(Arc::new(Vec::new())),
                None => {
                    return Err(invalid(format!(
                        "{}: {}: test input without answer file (expected {ans})",
                        pkg.path().display(),
                        entry.rel
                    )))
                }
            };
            let input = TestData::File(self.checked_file(&entry.rel)?);
            let mut args = inh.validator_args.clone();
            let mut args_file = inh.validator_args_file.clone();
            let case_yaml = format!("{dir}/{base}.yaml");
            if let Some(map) = read_yaml(pkg, &case_yaml)? {
                let case_yaml = pkg.path().join(case_yaml);
                if let Some(own) = (Doc { file: &case_yaml }).validator_args(&map)? {
                    args = own;
                    args_file = Some(case_yaml);
                }
            }
            let mut validator_flags = self.problem_flags.to_vec();
            validator_flags.extend(args);
            let default_flags = self.parse_flags(&validator_flags, args_file.as_deref())?;
            self.tests.push(TestCase {
                name: format!("{rel}/{base}"),
                group: rel.to_string(),
                input,
                answer,
                validator_flags,
                default_flags,
            });
        }
        Ok(())
    }

    /// A test data file of the package, checked now (regular, within the size caps) and
    /// read beneath the root again whenever it is used.
    fn checked_file(&self, rel: &str) -> Result<PackageFile, ProblemError> {
        self.pkg.check_file(Path::new(rel))?;
        Ok(PackageFile { package: self.pkg.clone(), rel: rel.into() })
    }

    /// Parses a test's flags for the default validator (a custom validator takes the
    /// words as they are). A bad flag names the file it came from: `args_file` when
    /// the problem's own flags parse alone, else problem.yaml.
    fn parse_flags(&self, flags: &[String], args_file: Option<&Path>) -> Result<validate::Flags, ProblemError> {
        if !self.default_validator {
            return Ok(validate::Flags::default());
        }
        validate::Flags::parse(flags).map_err(|e| {
            let (file, key) = match args_file {
                Some(file) if validate::Flags::parse(self.problem_flags).is_ok() => (file, "output_validator_flags"),
                _ => (self.problem_yaml, "validator_flags"),
            };
            invalid(format!("{}: {key}: {e}", file.display()))
        })
    }
}

pub(super) fn parse_on_reject(s: &str) -> Option<OnReject> {
    match s {
        "break" | "first_error" => Some(OnReject::Break),
        "continue" | "grade" => Some(OnReject::Continue),
        _ => None,
    }
}
