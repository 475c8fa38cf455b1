//! `judge grade`, `judge verify` and `judge languages`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use clap::Args;
use engine::grade::{Fault, GradeError, GradeOptions, GradeResult, Grader, Submission};
use engine::language::Languages;
use engine::problem::{Problem, MAX_LIMIT_MIB};
use engine::verify::{self, Checked, Report};
use engine::Verdict;
use indicatif::{ProgressBar, ProgressStyle};

use crate::Failure;

#[derive(Args)]
pub struct LanguageDirArg {
    /// Directory of language definitions (default: the built-in ones).
    #[arg(long)]
    languages: Option<PathBuf>,
}

#[derive(Args)]
pub struct GradeArgs {
    /// Print one JSON object per submission per line, and nothing else.
    #[arg(long)]
    json: bool,
    /// Language id (default: from each file's extension).
    #[arg(long)]
    lang: Option<String>,
    /// CPU time limit in seconds (default: the package's, else 1).
    #[arg(long)]
    time_limit: Option<f64>,
    /// Memory limit in MiB (default: the package's).
    #[arg(long)]
    memory_limit: Option<u64>,
    /// Run every test even after a failure.
    #[arg(long)]
    all: bool,
    #[command(flatten)]
    languages: LanguageDirArg,
    /// The problem package directory.
    problem: PathBuf,
    /// Source files to grade.
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

#[derive(Args)]
pub struct VerifyArgs {
    /// Print one JSON object per submission per line (`problem`, `file`, `kind`,
    /// `expected`, `verdict`, `score`, `time_ms`, `ok`, `why`; a skipped file has
    /// `verdict` null and `skipped` its reason), and nothing else on stdout.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    languages: LanguageDirArg,
    /// Problem package directories.
    #[arg(required = true)]
    problems: Vec<PathBuf>,
}

#[derive(Args)]
pub struct LanguagesArgs {
    /// Print JSON.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    languages: LanguageDirArg,
}

fn load_languages(arg: &LanguageDirArg) -> Result<Arc<Languages>, Failure> {
    let languages = match &arg.languages {
        Some(dir) => Languages::from_dir(dir).map_err(|e| Failure::usage(format!("--languages {e}")))?,
        None => Languages::embedded().map_err(Failure::internal)?,
    };
    Ok(Arc::new(languages))
}

fn load_problem(dir: &Path) -> Result<Problem, Failure> {
    Problem::load(dir).map_err(|e| Failure::usage(e.to_string()))
}

fn grade_error(e: GradeError) -> Failure {
    match e.fault() {
        Fault::Judge => Failure::internal(e.to_string()),
        Fault::Caller | Fault::Package => Failure::usage(e.to_string()),
    }
}

fn progress_bar(total: usize, label: &str, hidden: bool) -> ProgressBar {
    if hidden {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total as u64);
    if let Ok(style) = ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} tests") {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_prefix(label.to_string());
    bar
}

/// A progress bar on stderr as the observer of one file's grading.
struct Bar(ProgressBar);

impl verify::Observer for Bar {
    fn progress(&self, done: usize, _total: usize) {
        self.0.set_position(done as u64);
    }

    fn graded(&self, _file: &Path) {
        self.0.finish_and_clear();
    }
}

fn language_for(grader: &Grader, lang: &Option<String>, file: &Path) -> Result<String, Failure> {
    let id = match lang {
        Some(id) => id.clone(),
        None => grader.languages.id_for_file(&file.display().to_string()).map_err(Failure::usage)?,
    };
    grader.language(&id).map_err(grade_error)?;
    Ok(id)
}

pub fn grade(args: GradeArgs) -> Result<ExitCode, Failure> {
    if let Some(t) = args.time_limit {
        if !(t.is_finite() && t > 0.0 && t <= 3600.0) {
            return Err(Failure::usage(format!("--time-limit must be between 0 and 3600 seconds, got {t}")));
        }
    }
    if let Some(m) = args.memory_limit {
        if m == 0 || m > MAX_LIMIT_MIB {
            return Err(Failure::usage(format!("--memory-limit must be between 1 and {MAX_LIMIT_MIB} MiB, got {m}")));
        }
    }
    let grader = Grader::new(load_languages(&args.languages)?);
    let problem = load_problem(&args.problem)?;
    // Check every file before grading any, so a typo costs nothing.
    let mut jobs = Vec::new();
    for file in &args.files {
        if !file.is_file() {
            return Err(Failure::usage(format!("{}: no such file", file.display())));
        }
        jobs.push((file, language_for(&grader, &args.lang, file)?));
    }
    let options = GradeOptions { time_limit: args.time_limit, memory_mib: args.memory_limit, run_all: args.all };
    for (file, language) in jobs {
        let source = std::fs::read(file).map_err(|e| Failure::usage(format!("{}: {e}", file.display())))?;
        let submission = Submission { language, source };
        let bar = Bar(progress_bar(problem.tests.len(), &file.display().to_string(), args.json));
        let result =
            verify::grade_observed(&grader, &problem, file, &submission, &options, &bar).map_err(grade_error)?;
        if args.json {
            let mut value = serde_json::to_value(&result).map_err(|e| Failure::internal(e.to_string()))?;
            value["file"] = serde_json::Value::String(file.display().to_string());
            println!("{value}");
        } else {
            print_human(file, &result);
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn human_kb(kb: u64) -> String {
    if kb >= 10 * 1024 {
        format!("{:.1} MiB", kb as f64 / 1024.0)
    } else {
        format!("{kb} KiB")
    }
}

fn print_human(file: &Path, result: &GradeResult) {
    println!(
        "{} ({}): {}  score {}  time {} ms  memory {}",
        file.display(),
        result.language,
        result.verdict,
        result.score,
        result.time_ms,
        human_kb(result.memory_kb)
    );
    if !result.compile.ok || result.verdict == Verdict::CE {
        for line in result.compile.output.lines().take(30) {
            println!("  | {line}");
        }
        return;
    }
    let width = result.tests.iter().map(|t| t.name.len()).max().unwrap_or(4).max(4);
    println!("  {:width$}  {:7}  {:>8}  {:>8}  {:>10}  DETAIL", "TEST", "VERDICT", "CPU", "WALL", "MEMORY");
    for t in &result.tests {
        let detail = match (&t.signal, t.exit_code, &t.feedback) {
            (_, _, Some(f)) => f.lines().next().unwrap_or("").chars().take(60).collect(),
            (Some(s), _, _) => s.clone(),
            (None, Some(code), _) if code != 0 => format!("exit {code}"),
            _ => String::new(),
        };
        println!(
            "  {:width$}  {:7}  {:>5} ms  {:>5} ms  {:>10}  {}",
            t.name,
            t.verdict.as_str(),
            t.time_ms,
            t.wall_ms,
            human_kb(t.memory_kb),
            detail
        );
    }
}

/// Shows verification on stderr: skipped files, the derived time limit, and a
/// progress bar per submission.
#[derive(Default)]
struct VerifyProgress {
    bar: Mutex<Option<ProgressBar>>,
}

impl VerifyProgress {
    fn bar(&self) -> std::sync::MutexGuard<'_, Option<ProgressBar>> {
        self.bar.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl verify::Observer for VerifyProgress {
    fn time_limit_derived(&self, problem: &Problem, seconds: f64) {
        eprintln!("{}: time limit {seconds} s (derived from the accepted submissions)", problem.name);
    }

    fn skipped(&self, file: &Path, reason: &str) {
        eprintln!("{}: skipped: {reason}", file.display());
    }

    fn grading(&self, file: &Path, tests: usize) {
        *self.bar() = Some(progress_bar(tests, &file.display().to_string(), false));
    }

    fn progress(&self, done: usize, _total: usize) {
        if let Some(bar) = self.bar().as_ref() {
            bar.set_position(done as u64);
        }
    }

    fn graded(&self, _file: &Path) {
        if let Some(bar) = self.bar().take() {
            bar.finish_and_clear();
        }
    }
}

pub fn verify(args: VerifyArgs) -> Result<ExitCode, Failure> {
    let grader = Grader::new(load_languages(&args.languages)?);
    let mut problems = Vec::new();
    for dir in &args.problems {
        problems.push(load_problem(dir)?);
    }
    let observer = VerifyProgress::default();
    let mut reports = Vec::new();
    for problem in &problems {
        let report = verify::verify_problem(&grader, problem, &observer).map_err(|e| match e {
            // The judge's own fault, not the package's.
            verify::VerifyError::Grade { source: GradeError::Internal(m), file } => {
                Failure::internal(format!("{}: {m}", file.display()))
            }
            other => Failure::usage(other.to_string()),
        })?;
        reports.push(report);
    }
    if args.json {
        print_verify_json(&reports);
    } else {
        print_verify_table(&reports);
    }
    let failed: usize = reports.iter().map(Report::failed).sum();
    let checked: usize = reports.iter().map(Report::checked).sum();
    let skipped: usize = reports.iter().map(|r| r.skipped.len()).sum();
    if !args.json {
        println!("{} passed, {} failed, {} skipped", checked - failed, failed, skipped);
    }
    Ok(if failed == 0 { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

/// What a row shows in the EXPECTED column, e.g. "RE/MLE", or "-" for no promise.
fn expected_label(check: &Checked) -> String {
    check.expected.as_ref().map(|p| p.label()).unwrap_or_else(|| "-".into())
}

fn print_verify_json(reports: &[Report]) {
    for report in reports {
        for check in &report.checks {
            let line = serde_json::json!({
                "problem": report.problem,
                "file": check.file.display().to_string(),
                "kind": check.kind,
                "expected": check.expected.as_ref().map(|p| p.label()),
                "verdict": check.result.verdict,
                "score": check.result.score,
                "time_ms": check.result.time_ms,
                "ok": check.ok,
                "why": check.why,
            });
            println!("{line}");
        }
        for skip in &report.skipped {
            let line = serde_json::json!({
                "problem": report.problem,
                "file": skip.file.display().to_string(),
                "kind": skip.kind,
                "expected": null,
                "verdict": null,
                "ok": null,
                "skipped": skip.reason,
            });
            println!("{line}");
        }
    }
}

fn print_verify_table(reports: &[Report]) {
    let rows: Vec<(&Report, &Checked, String)> =
        reports.iter().flat_map(|r| r.checks.iter().map(move |c| (r, c, submission_label(c)))).collect();
    let pw = rows.iter().map(|(r, _, _)| r.problem.len()).max().unwrap_or(7).max(7);
    let fw = rows.iter().map(|(_, _, label)| label.len()).max().unwrap_or(10).max(10);
    println!("{:pw$}  {:fw$}  {:8}  {:12}  {:>8}  RESULT", "PROBLEM", "SUBMISSION", "EXPECTED", "GOT", "TIME");
    for (report, check, label) in rows {
        let result = &check.result;
        let got = if report.scoring && result.verdict != Verdict::CE {
            format!("{} ({})", result.verdict, result.score)
        } else {
            result.verdict.to_string()
        };
        let status = match (&check.expected, check.ok) {
            (None, _) => "reported".to_string(),
            (_, true) => "ok".to_string(),
            (_, false) => format!("MISMATCH: {}", check.why),
        };
        println!(
            "{:pw$}  {:fw$}  {:8}  {:12}  {:>5} ms  {}",
            report.problem,
            label,
            expected_label(check),
            got,
            result.time_ms,
            status
        );
    }
    for report in reports {
        for skip in &report.skipped {
            println!("{}  {}/{}  skipped: {}", report.problem, skip.kind, file_name(&skip.file), skip.reason);
        }
    }
}

fn file_name(file: &Path) -> &str {
    file.file_name().and_then(|n| n.to_str()).unwrap_or("?")
}

/// `kind/file name`, as the SUBMISSION column shows it.
fn submission_label(check: &Checked) -> String {
    format!("{}/{}", check.kind, file_name(&check.file))
}

pub fn languages(args: LanguagesArgs) -> Result<ExitCode, Failure> {
    let languages = load_languages(&args.languages)?;
    let list = languages.list();
    if args.json {
        println!("{}", serde_json::to_string(&list).map_err(|e| Failure::internal(e.to_string()))?);
        return Ok(ExitCode::SUCCESS);
    }
    for lang in list {
        let state = if lang.available { "" } else { "  (unavailable)" };
        println!("{:12} {:28} .{}{}", lang.id, lang.name, lang.extensions.join(" ."), state);
    }
    Ok(ExitCode::SUCCESS)
}
