//! `judge grade`, `judge verify` and `judge languages`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::Args;
use engine::grade::{Fault, GradeError, GradeOptions, GradeResult, Grader, Submission};
use engine::language::Languages;
use engine::problem::Problem;
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

/// Grades one file, showing progress on stderr unless `quiet`.
fn grade_file(
    grader: &Grader,
    problem: &Problem,
    file: &Path,
    language: &str,
    options: &GradeOptions,
    quiet: bool,
) -> Result<GradeResult, Failure> {
    let source = std::fs::read(file).map_err(|e| Failure::usage(format!("{}: {e}", file.display())))?;
    let bar = progress_bar(problem.tests.len(), &file.display().to_string(), quiet);
    let progress = |done: usize, _total: usize| bar.set_position(done as u64);
    let result = grader.grade(problem, &Submission { language: language.to_string(), source }, options, &progress);
    bar.finish_and_clear();
    result.map_err(grade_error)
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
        if m == 0 || m > 1 << 20 {
            return Err(Failure::usage(format!("--memory-limit must be between 1 and 1048576 MiB, got {m}")));
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
        let result = grade_file(&grader, &problem, file, &language, &options, args.json)?;
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

/// The verdict a `submissions/<kind>/` folder promises, if it promises one.
fn expected_verdict(kind: &str) -> Option<Verdict> {
    Some(match kind {
        "accepted" => Verdict::AC,
        "wrong_answer" => Verdict::WA,
        "time_limit_exceeded" => Verdict::TLE,
        "run_time_error" => Verdict::RE,
        "memory_limit_exceeded" => Verdict::MLE,
        "output_limit_exceeded" => Verdict::OLE,
        "compile_error" => Verdict::CE,
        _ => return None,
    })
}

struct Row {
    problem: String,
    file: String,
    expected: Option<Verdict>,
    got: String,
    time_ms: u64,
    ok: bool,
}

pub fn verify(args: VerifyArgs) -> Result<ExitCode, Failure> {
    let grader = Grader::new(load_languages(&args.languages)?);
    let mut problems = Vec::new();
    for dir in &args.problems {
        problems.push(load_problem(dir)?);
    }
    let mut rows = Vec::new();
    for problem in &problems {
        verify_problem(&grader, problem, &mut rows)?;
    }
    print_verify_table(&rows);
    let failed = rows.iter().filter(|r| !r.ok).count();
    let checked = rows.iter().filter(|r| r.expected.is_some()).count();
    println!("{} passed, {} failed", checked - failed, failed);
    Ok(if failed == 0 { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

fn verify_problem(grader: &Grader, problem: &Problem, rows: &mut Vec<Row>) -> Result<(), Failure> {
    let submissions = problem.submissions().map_err(|e| Failure::usage(e.to_string()))?;
    let mut problem = problem.clone();
    if problem.time_limit.is_none() {
        let limit = derive_time_limit(grader, &problem, &submissions)?;
        eprintln!("{}: time limit {} s (derived from the accepted submissions)", problem.name, limit);
        problem.time_limit = Some(limit);
    }
    for (kind, file) in &submissions {
        let expected = expected_verdict(kind);
        let label = format!("{}/{}", kind, file.file_name().and_then(|n| n.to_str()).unwrap_or("?"));
        let language = match grader.languages.id_for_file(&file.display().to_string()) {
            Ok(id) => id,
            Err(e) => {
                eprintln!("{}: skipped: {e}", file.display());
                continue;
            }
        };
        if let Err(e) = grader.language(&language) {
            eprintln!("{}: skipped: {e}", file.display());
            continue;
        }
        let result = grade_file(grader, &problem, file, &language, &GradeOptions::default(), false)?;
        let got = if problem.scoring && result.verdict != Verdict::CE {
            format!("{} ({})", result.verdict, result.score)
        } else {
            result.verdict.to_string()
        };
        rows.push(Row {
            problem: problem.name.clone(),
            file: label,
            expected,
            got,
            time_ms: result.time_ms,
            ok: expected.is_none_or(|v| v == result.verdict),
        });
    }
    Ok(())
}

/// problemtools' rule: the slowest accepted submission times the package's
/// time multiplier (default 2), rounded up to whole seconds.
fn derive_time_limit(grader: &Grader, problem: &Problem, submissions: &[(String, PathBuf)]) -> Result<f64, Failure> {
    const GENEROUS: f64 = 10.0;
    let mut slowest_ms = 0u64;
    let options = GradeOptions { time_limit: Some(GENEROUS), ..Default::default() };
    for (kind, file) in submissions.iter().filter(|(k, _)| k == "accepted") {
        let Ok(language) = grader.languages.id_for_file(&file.display().to_string()) else { continue };
        if grader.language(&language).is_err() {
            continue;
        }
        let result = grade_file(grader, problem, file, &language, &options, false)?;
        if result.verdict != Verdict::AC {
            return Err(Failure::usage(format!(
                "{}: {kind}/{} got {} while deriving the time limit",
                problem.name,
                file.display(),
                result.verdict
            )));
        }
        slowest_ms = slowest_ms.max(result.time_ms);
    }
    Ok(((slowest_ms as f64 / 1000.0) * problem.time_multiplier).ceil().max(1.0))
}

fn print_verify_table(rows: &[Row]) {
    let pw = rows.iter().map(|r| r.problem.len()).max().unwrap_or(7).max(7);
    let fw = rows.iter().map(|r| r.file.len()).max().unwrap_or(10).max(10);
    println!("{:pw$}  {:fw$}  {:8}  {:12}  {:>8}  RESULT", "PROBLEM", "SUBMISSION", "EXPECTED", "GOT", "TIME");
    for r in rows {
        let expected = r.expected.map(|v| v.to_string()).unwrap_or_else(|| "-".into());
        let status = match (r.expected, r.ok) {
            (None, _) => "reported",
            (_, true) => "ok",
            (_, false) => "MISMATCH",
        };
        println!("{:pw$}  {:fw$}  {:8}  {:12}  {:>5} ms  {}", r.problem, r.file, expected, r.got, r.time_ms, status);
    }
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
