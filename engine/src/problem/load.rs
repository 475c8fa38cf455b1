//! `Problem::load`: a package directory read step by step (problem.yaml settings,
//! limits, output validator, test data).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_yaml_ng::Value;

use super::testdata::{parse_on_reject, Inherited, Loader};
use super::yaml::{read_yaml, Doc};
use super::{
    invalid, io_err, is_legacy, output_validator, OnReject, Problem, ProblemError, ValidatorProtocol, ValidatorSpec,
};
use crate::limits::{DEFAULT_MEMORY_MIB, DEFAULT_OUTPUT_MIB};
use crate::package_fs::{EntryKind, PackageDir, PackageLimits};

/// Largest memory and output limit accepted, in MiB (1 TiB): far above any real
/// problem, and far below where a conversion to bytes could overflow.
pub const MAX_LIMIT_MIB: u64 = 1 << 20;
/// Largest time limit accepted, in seconds (one day).
pub const MAX_TIME_LIMIT: f64 = 86_400.0;
/// Largest time multiplier or safety margin accepted.
pub const MAX_TIME_MULTIPLIER: f64 = 1000.0;

/// What `type` and `validation` say about the kind of problem.
#[derive(Default)]
struct Kind {
    scoring: bool,
    interactive: bool,
    /// Legacy `validation: custom ...`.
    custom: bool,
}

/// The `limits` of problem.yaml, defaults filled in.
struct Limits {
    time_limit: Option<f64>,
    memory_mib: u64,
    output_mib: u64,
    time_multiplier: f64,
    time_safety_margin: f64,
}

impl Problem {
    /// Loads a problem package directory (see the module documentation for the format),
    /// a Polygon package (`problem.xml`, no `problem.yaml`) or a zip of either, with the
    /// default [`PackageLimits`].
    pub fn load(dir: &Path) -> Result<Problem, ProblemError> {
        if super::polygon::archive::is_archive(dir) {
            return super::polygon::archive::load(dir);
        }
        Problem::load_with_limits(dir, PackageLimits::default())
    }

    /// Loads a problem package directory. Every file is read beneath the package root:
    /// a link out of the package, a FIFO or device, or a file over `limits` is an error
    /// naming the file (see [`crate::package_fs`]).
    pub fn load_with_limits(dir: &Path, limits: PackageLimits) -> Result<Problem, ProblemError> {
        let (dir, name) = package_dir(dir)?;
        let pkg = Arc::new(PackageDir::open(&dir, limits)?);
        let yaml_path = dir.join("problem.yaml");
        if pkg.kind(Path::new("problem.yaml"))?.is_none()
            && pkg.kind(Path::new("problem.xml"))? == Some(EntryKind::File)
        {
            return super::polygon::load(dir, name, pkg);
        }
        let yaml = read_yaml(&pkg, "problem.yaml")?.unwrap_or(Value::Mapping(Default::default()));
        let doc = Doc { file: &yaml_path };

        let format_version = doc
            .string(&yaml, "problem_format_version", "problem_format_version")?
            .unwrap_or_else(|| "legacy".to_string());
        let legacy = is_legacy(&format_version);
        let title = read_title(&doc, &yaml);
        let mut kind = read_type(&doc, &yaml)?;
        read_validation(&doc, &yaml, &mut kind)?;
        let validator_flags = match doc.get(&yaml, "validator_flags") {
            None => Vec::new(),
            Some(v) => doc.args(v, "validator_flags")?,
        };
        let validator_protocol = read_validator_protocol(&doc, &yaml)?;
        let limits = read_limits(&doc, &yaml, legacy)?;
        let time_limit = match limits.time_limit {
            Some(t) => Some(t),
            None => read_timelimit_file(&pkg)?,
        };
        let root = grading_defaults(&doc, &yaml)?;
        let validator = output_validator::find(&pkg, &yaml_path, legacy, kind.custom, kind.interactive)?;

        let mut loader = Loader {
            pkg: &pkg,
            interactive: kind.interactive,
            default_validator: validator == ValidatorSpec::Default,
            problem_flags: &validator_flags,
            problem_yaml: &yaml_path,
            tests: Vec::new(),
            groups: Vec::new(),
        };
        load_test_data(&mut loader, &root)?;
        let Loader { tests, groups, .. } = loader;

        Ok(Problem {
            name,
            dir: Some(dir),
            package: Some(pkg),
            time_limit,
            memory_mib: limits.memory_mib,
            output_mib: limits.output_mib,
            interactive: kind.interactive,
            scoring: kind.scoring,
            validator,
            tests,
            format_version,
            title,
            validator_flags,
            time_multiplier: limits.time_multiplier,
            time_safety_margin: limits.time_safety_margin,
            groups,
            validator_protocol,
            tout_checker: None,
            points: None,
            listed_submissions: None,
            unpacked: None,
        })
    }
}

/// `validator_protocol: kattis | testlib` (an extension of this judge): how the
/// package's output validator is run.
fn read_validator_protocol(doc: &Doc, yaml: &Value) -> Result<ValidatorProtocol, ProblemError> {
    match doc.string(yaml, "validator_protocol", "validator_protocol")?.as_deref() {
        None | Some("kattis") => Ok(ValidatorProtocol::Kattis),
        Some("testlib") => Ok(ValidatorProtocol::Testlib),
        Some(other) => {
            Err(doc.err("validator_protocol", "\"kattis\" or \"testlib\"", &Value::String(other.to_string())))
        }
    }
}

/// The package's real directory, and the name the caller used for it (a symlink's own
/// name), else the real directory's.
fn package_dir(given: &Path) -> Result<(PathBuf, String), ProblemError> {
    let dir = std::fs::canonicalize(given).map_err(io_err(given))?;
    if !dir.is_dir() {
        return Err(invalid(format!("{}: not a directory", dir.display())));
    }
    let name =
        given.file_name().or_else(|| dir.file_name()).map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    Ok((dir, name))
}

/// `name`: a string, or a map of languages (English, else the first given).
fn read_title(doc: &Doc, yaml: &Value) -> Option<String> {
    match doc.get(yaml, "name") {
        Some(Value::String(s)) => Some(s.clone()),
        Some(m @ Value::Mapping(map)) => {
            m.get("en").or_else(|| map.values().next()).and_then(|v| v.as_str()).map(String::from)
        }
        _ => None,
    }
}

/// `type`: one problem type or a list. The 2023-07 values are accepted whatever the
/// version: a package that says `type: interactive` means it.
fn read_type(doc: &Doc, yaml: &Value) -> Result<Kind, ProblemError> {
    let mut kind = Kind::default();
    let Some(v) = doc.get(yaml, "type") else { return Ok(kind) };
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
            "scoring" => kind.scoring = true,
            "interactive" => kind.interactive = true,
            "multi-pass" | "submit-answer" => {
                return Err(invalid(format!("{}: type: {t:?} problems are not supported", doc.file.display())))
            }
            _ => return Err(doc.err("type", "pass-fail, scoring or interactive", &Value::String(t.to_string()))),
        }
    }
    if pass_fail && kind.scoring {
        return Err(invalid(format!("{}: type: pass-fail and scoring exclude each other", doc.file.display())));
    }
    Ok(kind)
}

/// Legacy `validation: default | custom [interactive] [score]` (also honoured when a
/// newer package carries it).
fn read_validation(doc: &Doc, yaml: &Value, kind: &mut Kind) -> Result<(), ProblemError> {
    let Some(validation) = doc.string(yaml, "validation", "validation")? else { return Ok(()) };
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
    kind.custom = words[0] == "custom";
    kind.interactive |= words.contains(&"interactive");
    kind.scoring |= words.contains(&"score");
    Ok(())
}

/// `limits`, each checked against a sane range so that later arithmetic (MiB to bytes,
/// seconds to a deadline) cannot overflow.
fn read_limits(doc: &Doc, yaml: &Value, legacy: bool) -> Result<Limits, ProblemError> {
    let mut limits = Limits {
        time_limit: None,
        memory_mib: DEFAULT_MEMORY_MIB,
        output_mib: DEFAULT_OUTPUT_MIB,
        time_multiplier: 2.0,
        time_safety_margin: if legacy { 2.0 } else { 1.5 },
    };
    let Some(map) = doc.map(yaml, "limits")? else { return Ok(limits) };
    let max_mib = MAX_LIMIT_MIB as f64;
    limits.time_limit = doc.positive_up_to(map, "time_limit", "limits.time_limit", MAX_TIME_LIMIT, "seconds")?;
    if let Some(m) = doc.positive_up_to(map, "memory", "limits.memory", max_mib, "MiB")? {
        limits.memory_mib = m.ceil() as u64;
    }
    if let Some(m) = doc.positive_up_to(map, "output", "limits.output", max_mib, "MiB")? {
        limits.output_mib = m.ceil() as u64;
    }
    let multiplier =
        |map: &Value, key: &str, path: &str| doc.positive_up_to(map, key, path, MAX_TIME_MULTIPLIER, "times");
    if let Some(m) = multiplier(map, "time_multiplier", "limits.time_multiplier")? {
        limits.time_multiplier = m;
    }
    if let Some(m) = multiplier(map, "time_safety_margin", "limits.time_safety_margin")? {
        limits.time_safety_margin = m;
    }
    if let Some(tm) = doc.get(map, "time_multipliers") {
        if !tm.is_mapping() {
            return Err(doc.err("limits.time_multipliers", "a map", tm));
        }
        if let Some(m) = multiplier(tm, "ac_to_time_limit", "limits.time_multipliers.ac_to_time_limit")? {
            limits.time_multiplier = m;
        }
        if let Some(m) = multiplier(tm, "time_limit_to_tle", "limits.time_multipliers.time_limit_to_tle")? {
            limits.time_safety_margin = m;
        }
    }
    Ok(limits)
}

/// A `.timelimit` file (seconds), used when problem.yaml gives no time limit.
fn read_timelimit_file(pkg: &PackageDir) -> Result<Option<f64>, ProblemError> {
    let Some(bytes) = pkg.read_config(Path::new(".timelimit"))? else { return Ok(None) };
    let path = pkg.path().join(".timelimit");
    let text = String::from_utf8_lossy(&bytes);
    let t = text.trim();
    match t.parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 && v <= MAX_TIME_LIMIT => Ok(Some(v)),
        _ => Err(invalid(format!(
            "{}: expected a positive number of seconds, at most {MAX_TIME_LIMIT}, got {t:?}",
            path.display()
        ))),
    }
}

/// Deprecated legacy `grading` keys of problem.yaml: defaults for every test group.
fn grading_defaults(doc: &Doc, yaml: &Value) -> Result<Inherited, ProblemError> {
    let mut root = Inherited {
        validator_args: Vec::new(),
        validator_args_file: None,
        accept_score: 1.0,
        reject_score: 0.0,
        grader_flags: Vec::new(),
        on_reject: OnReject::Break,
    };
    let Some(grading) = doc.map(yaml, "grading")? else { return Ok(root) };
    if let Some(s) = doc.number(grading, "accept_score", "grading.accept_score")? {
        root.accept_score = s;
    }
    if let Some(s) = doc.number(grading, "reject_score", "grading.reject_score")? {
        root.reject_score = s;
    }
    if let Some(s) = doc.string(grading, "on_reject", "grading.on_reject")? {
        root.on_reject = parse_on_reject(&s).ok_or_else(|| {
            invalid(format!("{}: grading.on_reject: expected \"break\" or \"continue\", got {s:?}", doc.file.display()))
        })?;
    }
    Ok(root)
}

/// `data/sample` then `data/secret`; `data/testdata.yaml` applies to both.
fn load_test_data(loader: &mut Loader, root: &Inherited) -> Result<(), ProblemError> {
    let pkg = loader.pkg;
    let dir = pkg.path();
    if pkg.kind(Path::new("data"))? == Some(EntryKind::Dir) {
        let (root_inh, _) = loader.group_config("data", "", root)?;
        for top in ["sample", "secret"] {
            if pkg.kind(&Path::new("data").join(top))? == Some(EntryKind::Dir) {
                loader.walk(top, &root_inh)?;
            }
        }
    }
    if loader.tests.is_empty() {
        return Err(invalid(format!(
            "{}: no test cases (expected data/sample/*.in or data/secret/**/*.in with .ans files)",
            dir.display()
        )));
    }
    Ok(())
}
