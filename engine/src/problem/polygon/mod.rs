//! Polygon (Codeforces) packages: a directory with `problem.xml` and no `problem.yaml`.
//!
//! Read from `problem.xml`: the `<judging>` testset named `tests` (else the first):
//! `time-limit` (ms), `memory-limit` (bytes), `test-count`, `input-path-pattern` and
//! `answer-path-pattern`, each `<test points= group= sample= method=>`, and `<groups>`
//! (`points`, `points-policy`, `<dependencies>`); `<assets>`: the `<checker>` (a
//! `std::` checker maps to the default validator with equivalent flags, any other is a
//! testlib program built from its `<source path>`, with the headers beside it such as
//! `testlib.h`), the `<interactor>` and the tagged `<solutions>` (for `judge verify`).
//!
//! Choices: tests run in index order; an interactive problem without a `<checker>`
//! takes the interactor's verdict; sample tests go to group `sample`, the rest to
//! `secret`, named by their input path (`tests/01`). A group named by a test but not
//! declared scores each test. The problem is scoring when any points are given.
//! Interactive problems without answer files get empty answers.
//!
//! A zip of a package (Polygon's download) is unpacked and loaded the same way
//! (`archive`).
//!
//! Refused with a load error: input or output through files (`input-file`),
//! tests whose files are missing (generated tests must come with their files),
//! unknown standard checkers, paths leaving the package.

pub(super) mod archive;
mod assets;
mod points;

use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use roxmltree::{Document, Node};

pub use points::{Points, PointsGroup, PointsPolicy};

use super::load::{MAX_LIMIT_MIB, MAX_TIME_LIMIT};
use super::{
    invalid, PackageFile, Problem, ProblemError, TestCase, TestData, TestGroup, ValidatorProtocol, ValidatorSpec,
};
use crate::limits::{DEFAULT_MEMORY_MIB, DEFAULT_OUTPUT_MIB, MIB};
use crate::package_fs::{EntryKind, PackageDir};
use crate::validate;

/// The package's `problem.xml` and directory, for errors naming the file; its files are
/// read beneath the root.
struct Package<'a> {
    dir: &'a Path,
    xml: &'a Path,
    fs: &'a Arc<PackageDir>,
}

impl Package<'_> {
    fn err(&self, what: impl std::fmt::Display) -> ProblemError {
        invalid(format!("{}: {what}", self.xml.display()))
    }

    /// A file of the package named in problem.xml; absolute paths and `..` are refused.
    fn file(&self, relative: &str, what: &str) -> Result<PathBuf, ProblemError> {
        let rel = Path::new(relative);
        if relative.is_empty() || !rel.components().all(|c| matches!(c, Component::Normal(_) | Component::CurDir)) {
            return Err(self.err(format!("{what}: path {relative:?} is not inside the package")));
        }
        match self.fs.kind(rel)? {
            Some(EntryKind::File) => Ok(self.dir.join(rel)),
            None => Err(self.err(format!("{what}: {relative} is missing"))),
            Some(_) => Err(self.err(format!("{what}: {relative} is not a regular file"))),
        }
    }

    /// Test data: a file of the package, read beneath its root on every use.
    fn data(&self, relative: &str, what: &str) -> Result<TestData, ProblemError> {
        self.file(relative, what)?;
        Ok(TestData::File(PackageFile { package: self.fs.clone(), rel: relative.into() }))
    }

    fn number<T: std::str::FromStr>(&self, node: Node, what: &str) -> Result<T, ProblemError> {
        let text = node.text().unwrap_or("").trim();
        text.parse().map_err(|_| self.err(format!("{what}: expected a number, got {text:?}")))
    }

    fn points(&self, value: Option<&str>, what: &str) -> Result<Option<f64>, ProblemError> {
        let Some(text) = value else { return Ok(None) };
        match text.trim().parse::<f64>() {
            Ok(p) if p.is_finite() && p >= 0.0 => Ok(Some(p)),
            _ => Err(self.err(format!("{what}: points must be a non-negative number, got {text:?}"))),
        }
    }
}

fn child<'a, 'i>(node: Node<'a, 'i>, name: &str) -> Option<Node<'a, 'i>> {
    node.children().find(|c| c.has_tag_name(name))
}

fn children<'a, 'i: 'a>(node: Node<'a, 'i>, name: &'a str) -> impl Iterator<Item = Node<'a, 'i>> + 'a {
    node.children().filter(move |c| c.has_tag_name(name))
}

/// A checker: a standard one (default-validator flags) or a testlib program.
enum Checker {
    Standard(Vec<String>),
    Program(PathBuf),
}

/// Loads the Polygon package in `dir` (already canonical, opened as `fs`), called `name`.
pub(super) fn load(dir: PathBuf, name: String, fs: Arc<PackageDir>) -> Result<Problem, ProblemError> {
    let xml = dir.join("problem.xml");
    let bytes = fs.read(Path::new("problem.xml"), fs.limits().max_config_bytes)?;
    let text = String::from_utf8(bytes).map_err(|_| invalid(format!("{}: not UTF-8", xml.display())))?;
    let pkg = Package { dir: &dir, xml: &xml, fs: &fs };
    let doc = Document::parse(&text).map_err(|e| pkg.err(e))?;
    let root = doc.root_element();
    if !root.has_tag_name("problem") {
        return Err(pkg.err(format!("expected a <problem> element, found <{}>", root.tag_name().name())));
    }
    let judging = child(root, "judging").ok_or_else(|| pkg.err("no <judging> element"))?;
    for attribute in ["input-file", "output-file"] {
        match judging.attribute(attribute).unwrap_or("") {
            "" | "stdin" | "stdout" => {}
            file => return Err(pkg.err(format!("{attribute}={file:?}: file input/output is not supported"))),
        }
    }
    let testset = children(judging, "testset")
        .find(|t| t.attribute("name") == Some("tests"))
        .or_else(|| child(judging, "testset"))
        .ok_or_else(|| pkg.err("no <testset> in <judging>"))?;

    let time_limit = match child(testset, "time-limit") {
        None => None,
        Some(node) => {
            let ms: f64 = pkg.number(node, "time-limit")?;
            let seconds = ms / 1000.0;
            if !(seconds.is_finite() && seconds > 0.0 && seconds <= MAX_TIME_LIMIT) {
                return Err(pkg.err(format!("time-limit: expected 1 to {} ms, got {ms}", MAX_TIME_LIMIT * 1000.0)));
            }
            Some(seconds)
        }
    };
    let memory_mib = match child(testset, "memory-limit") {
        None => DEFAULT_MEMORY_MIB,
        Some(node) => {
            let bytes: u64 = pkg.number(node, "memory-limit")?;
            let mib = bytes.div_ceil(MIB);
            if mib == 0 || mib > MAX_LIMIT_MIB {
                return Err(pkg.err(format!("memory-limit: expected 1 byte to {MAX_LIMIT_MIB} MiB, got {bytes}")));
            }
            mib
        }
    };

    let assets = child(root, "assets");
    let interactor = match assets.and_then(|a| child(a, "interactor")) {
        None => None,
        Some(node) => Some(program(&pkg, node, "interactor")?),
    };
    let checker_node = assets.and_then(|a| child(a, "checker"));
    let has_checker = checker_node.is_some();
    let checker = match checker_node {
        None => Checker::Standard(Vec::new()),
        Some(node) => checker(&pkg, node)?,
    };
    let flags = match &checker {
        Checker::Standard(flags) => flags.clone(),
        Checker::Program(_) => Vec::new(),
    };
    let default_flags = validate::Flags::parse(&flags).map_err(|e| pkg.err(format!("checker flags: {e}")))?;

    let interactive = interactor.is_some();
    let (tests, points) = read_tests(&pkg, testset, interactive, &flags, &default_flags)?;
    let (validator, validator_protocol, tout_checker) = match (interactor, checker) {
        (None, Checker::Standard(_)) => (ValidatorSpec::Default, ValidatorProtocol::Kattis, None),
        (None, Checker::Program(path)) => (ValidatorSpec::Custom(path), ValidatorProtocol::Testlib, None),
        (Some(interactor), checker) => {
            // Without a <checker> the interactor's verdict stands.
            let after = match checker {
                _ if !has_checker => None,
                Checker::Standard(_) => Some(ValidatorSpec::Default),
                Checker::Program(path) => Some(ValidatorSpec::Custom(path)),
            };
            (ValidatorSpec::Custom(interactor), ValidatorProtocol::Testlib, after)
        }
    };
    let solutions = read_solutions(&pkg, assets)?;

    Ok(Problem {
        name,
        title: title(root),
        dir: Some(dir.clone()),
        time_limit,
        memory_mib,
        output_mib: DEFAULT_OUTPUT_MIB,
        interactive,
        scoring: points.is_some(),
        validator,
        tests,
        format_version: "polygon".to_string(),
        validator_flags: flags,
        time_multiplier: 2.0,
        time_safety_margin: 2.0,
        groups: vec![TestGroup::new("sample"), TestGroup::new("secret")],
        validator_protocol,
        tout_checker,
        points,
        listed_submissions: Some(solutions),
        package: Some(fs.clone()),
        unpacked: None,
    })
}

/// `<names><name language="english" value="..."/>`, else the first name.
fn title(root: Node) -> Option<String> {
    let names = child(root, "names")?;
    let mut all = children(names, "name");
    let english = children(names, "name").find(|n| n.attribute("language") == Some("english"));
    english.or_else(|| all.next()).and_then(|n| n.attribute("value")).map(String::from)
}

/// A program asset: its `<source path=...>`.
fn program(pkg: &Package, node: Node, what: &str) -> Result<PathBuf, ProblemError> {
    let source = child(node, "source").and_then(|s| s.attribute("path"));
    let source = source.ok_or_else(|| pkg.err(format!("<{what}> has no <source path=...>")))?;
    pkg.file(source, what)
}

fn checker(pkg: &Package, node: Node) -> Result<Checker, ProblemError> {
    if let Some(name) = node.attribute("name").filter(|n| n.starts_with("std::")) {
        return standard_checker(pkg, name);
    }
    match node.attribute("type") {
        None | Some("testlib") => Ok(Checker::Program(program(pkg, node, "checker")?)),
        Some(other) => Err(pkg.err(format!("checker type {other:?} is not supported (only testlib)"))),
    }
}

fn standard_checker(pkg: &Package, name: &str) -> Result<Checker, ProblemError> {
    assets::standard_checker_flags(name).map(Checker::Standard).ok_or_else(|| {
        pkg.err(format!(
            "standard checker {name:?} is not supported (known: wcmp, ncmp, icmp, hcmp, lcmp, fcmp, yesno, \
             nyesno, rcmp, dcmp, rcmp4, rcmp6, rcmp9)"
        ))
    })
}

/// The tests of the testset and, when any points are given, how they score.
fn read_tests(
    pkg: &Package,
    testset: Node,
    interactive: bool,
    flags: &[String],
    default_flags: &validate::Flags,
) -> Result<(Vec<TestCase>, Option<Points>), ProblemError> {
    let listed: Vec<Node> = child(testset, "tests").map(|t| children(t, "test").collect()).unwrap_or_default();
    let count: usize = match child(testset, "test-count") {
        Some(node) => pkg.number(node, "test-count")?,
        None => listed.len(),
    };
    if !listed.is_empty() && listed.len() != count {
        return Err(pkg.err(format!("test-count is {count} but <tests> lists {}", listed.len())));
    }
    if count == 0 {
        return Err(pkg.err("no tests"));
    }
    let pattern = |name: &str| -> Result<String, ProblemError> {
        let node = child(testset, name).ok_or_else(|| pkg.err(format!("no <{name}>")))?;
        Ok(node.text().unwrap_or("").trim().to_string())
    };
    let (input_pattern, answer_pattern) = (pattern("input-path-pattern")?, pattern("answer-path-pattern")?);
    let mut groups = read_groups(pkg, testset)?;
    let mut tests = Vec::with_capacity(count);
    let mut test_points = Vec::with_capacity(count);
    let mut any_points = groups.iter().any(|g| g.points.is_some_and(|p| p > 0.0));
    for index in 1..=count {
        let node = listed.get(index - 1);
        let attr = |name: &str| node.and_then(|n| n.attribute(name));
        let fill = |p: &str| {
            assets::fill_pattern(p, index).ok_or_else(|| pkg.err(format!("path pattern {p:?}: expected one %d")))
        };
        let (input_rel, answer_rel) = (fill(&input_pattern)?, fill(&answer_pattern)?);
        let generated = if attr("method") == Some("generated") {
            " (a generated test: this judge does not run generators, include the generated files)"
        } else {
            ""
        };
        let what = format!("test {index}");
        let input = pkg.data(&input_rel, &what).map_err(|e| pkg_suffix(e, generated))?;
        let answer = match pkg.data(&answer_rel, &what) {
            Ok(data) => data,
            Err(_) if interactive => TestData::Bytes(Arc::new(Vec::new())),
            Err(e) => return Err(pkg_suffix(e, generated)),
        };
        let points = pkg.points(attr("points"), &what)?.unwrap_or(0.0);
        any_points |= points > 0.0;
        test_points.push(points);
        if let Some(group) = attr("group").filter(|g| !g.is_empty()) {
            let at = match groups.iter().position(|g| g.name == group) {
                Some(at) => at,
                None => {
                    groups.push(PointsGroup {
                        name: group.to_string(),
                        points: None,
                        policy: PointsPolicy::EachTest,
                        dependencies: Vec::new(),
                        tests: Vec::new(),
                    });
                    groups.len() - 1
                }
            };
            groups[at].tests.push(index - 1);
        }
        let sample = attr("sample") == Some("true");
        tests.push(TestCase {
            name: input_rel,
            group: if sample { "sample" } else { "secret" }.to_string(),
            input,
            answer,
            validator_flags: flags.to_vec(),
            default_flags: default_flags.clone(),
        });
    }
    let points = any_points.then_some(Points { tests: test_points, groups });
    Ok((tests, points))
}

fn pkg_suffix(e: ProblemError, suffix: &str) -> ProblemError {
    match e {
        ProblemError::Invalid(msg) => ProblemError::Invalid(format!("{msg}{suffix}")),
        other => other,
    }
}

/// `<groups><group name points points-policy><dependencies><dependency group/>`.
fn read_groups(pkg: &Package, testset: Node) -> Result<Vec<PointsGroup>, ProblemError> {
    let Some(groups) = child(testset, "groups") else { return Ok(Vec::new()) };
    let nodes: Vec<Node> = children(groups, "group").collect();
    let names: Vec<&str> = nodes.iter().map(|g| g.attribute("name").unwrap_or("")).collect();
    let mut out = Vec::new();
    for (node, name) in nodes.iter().zip(&names) {
        let what = format!("group {name:?}");
        let policy = match node.attribute("points-policy") {
            None | Some("complete-group") => PointsPolicy::CompleteGroup,
            Some("each-test") => PointsPolicy::EachTest,
            Some(other) => {
                return Err(pkg.err(format!("{what}: points-policy {other:?} (expected complete-group or each-test)")))
            }
        };
        let mut dependencies = Vec::new();
        for dep in child(*node, "dependencies").into_iter().flat_map(|d| children(d, "dependency")) {
            let target = dep.attribute("group").unwrap_or("");
            let at = names.iter().position(|n| *n == target);
            dependencies.push(at.ok_or_else(|| pkg.err(format!("{what}: depends on unknown group {target:?}")))?);
        }
        out.push(PointsGroup {
            name: name.to_string(),
            points: pkg.points(node.attribute("points"), &what)?,
            policy,
            dependencies,
            tests: Vec::new(),
        });
    }
    Ok(out)
}

/// `<solutions><solution tag=...><source path=...>` as (verify kind, file).
fn read_solutions(pkg: &Package, assets: Option<Node>) -> Result<Vec<(String, PathBuf)>, ProblemError> {
    let Some(solutions) = assets.and_then(|a| child(a, "solutions")) else { return Ok(Vec::new()) };
    let mut out = Vec::new();
    for solution in children(solutions, "solution") {
        let tag = solution.attribute("tag").unwrap_or("");
        let file = program(pkg, solution, &format!("solution tagged {tag:?}"))?;
        out.push((assets::solution_kind(tag), file));
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
