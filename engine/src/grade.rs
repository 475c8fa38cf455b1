//! Grading: compile once in the sandbox, run every test in its own sandbox,
//! validate the output (default, custom or interactive), and give verdicts.

use std::collections::{HashMap, VecDeque};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::language::{Language, Languages};
use crate::problem::{Problem, TestCase, ValidatorSpec};
use crate::sandbox::{Command, Input, Limits, RunResult, RunStatus, Stdio};
use crate::scratch::Scratch;
use crate::validate;
use crate::Verdict;

use crate::limits::MIB;
/// Compiler messages kept for the result.
const COMPILE_OUTPUT_LIMIT: usize = 64 * 1024;
/// A feedback file kept for the result.
const FEEDBACK_LIMIT: u64 = 16 * 1024;
/// Room for a submission's source and compiled program.
const WORKDIR_BYTES: u64 = 256 * MIB;
/// Exit codes of Kattis output validators.
const VALIDATOR_ACCEPT: i32 = 42;
const VALIDATOR_REJECT: i32 = 43;

#[derive(Debug, thiserror::Error)]
pub enum GradeError {
    #[error("unknown language {0:?}; known: {1}")]
    UnknownLanguage(String, String),
    #[error("language {0} is unavailable here: {1}")]
    Unavailable(String, String),
    #[error("{0}")]
    Problem(String),
    #[error("{0}")]
    Internal(String),
}

#[derive(Clone, Debug)]
pub struct Submission {
    pub language: String,
    pub source: Vec<u8>,
}

#[derive(Clone, Debug, Default)]
pub struct GradeOptions {
    /// Overrides the problem's time limit (seconds).
    pub time_limit: Option<f64>,
    /// Overrides the problem's memory limit (MiB).
    pub memory_mib: Option<u64>,
    /// Run every test even after a failure.
    pub run_all: bool,
}

#[derive(Clone, Debug, Serialize)]
pub struct CompileInfo {
    pub ok: bool,
    pub output: String,
    pub time_ms: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct TestResult {
    pub name: String,
    pub verdict: Verdict,
    pub time_ms: u64,
    pub wall_ms: u64,
    pub memory_kb: u64,
    pub exit_code: Option<i32>,
    pub signal: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub feedback: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct GradeResult {
    pub language: String,
    pub verdict: Verdict,
    pub score: f64,
    pub time_ms: u64,
    pub memory_kb: u64,
    pub compile: CompileInfo,
    pub tests: Vec<TestResult>,
}

/// A program compiled in the sandbox, kept on its tmpfs.
struct Built {
    dir: Scratch,
    run: Vec<String>,
    language: Language,
}

pub struct Grader {
    pub languages: Arc<Languages>,
    /// Custom validators, built once per package directory.
    validators: Mutex<HashMap<PathBuf, Arc<Result<Built, String>>>>,
    compiled: CompileCache,
    /// How many tests of one submission run at once.
    parallelism: usize,
}

type Compiled = Result<(Arc<Built>, CompileInfo), CompileInfo>;

/// Compiled programs by (toolchain identity, command, source) hash. Bounded
/// by entry count and by the tmpfs bytes the entries hold; each entry's tmpfs
/// is unmounted when the last user drops it. Concurrent identical
/// submissions share one slot: one compiles, the others wait on its `OnceLock`.
#[derive(Default)]
struct CompileCache {
    entries: Mutex<CacheEntries>,
    identities: Mutex<HashMap<String, String>>,
}

#[derive(Default)]
struct CacheEntries {
    map: HashMap<[u8; 32], (Arc<OnceLock<Compiled>>, u64)>,
    /// Oldest first.
    order: VecDeque<[u8; 32]>,
    bytes: u64,
}

const COMPILE_CACHE_ENTRIES: usize = 64;
const COMPILE_CACHE_BYTES: u64 = 1 << 30;

impl CacheEntries {
    fn evict_to_fit(&mut self) {
        while self.order.len() > COMPILE_CACHE_ENTRIES || (self.bytes > COMPILE_CACHE_BYTES && self.order.len() > 1) {
            let Some(old) = self.order.pop_front() else { break };
            if let Some((_, size)) = self.map.remove(&old) {
                self.bytes -= size;
            }
        }
    }
}

impl CompileCache {
    fn key(&self, lang: &Language, source: &[u8], memory_mib: u64) -> [u8; 32] {
        let identity = {
            let mut ids = self.identities.lock().unwrap_or_else(|p| p.into_inner());
            ids.entry(lang.id.clone()).or_insert_with(|| lang.identity()).clone()
        };
        let mut hash = Sha256::new();
        hash.update(identity.as_bytes());
        hash.update(format!("{:?}|{:?}|{:?}|{memory_mib}|", lang.compile, lang.run, lang.env).as_bytes());
        hash.update(source);
        hash.finalize().into()
    }

    fn get_or_build(&self, key: [u8; 32], build: impl FnOnce() -> Compiled) -> Compiled {
        let slot = {
            let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
            if let Some((slot, _)) = entries.map.get(&key) {
                slot.clone()
            } else {
                let slot = Arc::new(OnceLock::new());
                entries.map.insert(key, (slot.clone(), 0));
                entries.order.push_back(key);
                entries.evict_to_fit();
                slot
            }
        };
        let mut built_here = false;
        let compiled = slot
            .get_or_init(|| {
                built_here = true;
                build()
            })
            .clone();
        if built_here {
            // Charge the entry with what its tmpfs holds, now that it is known.
            let size = compiled.as_ref().map(|(built, _)| built.dir.used_bytes()).unwrap_or(0);
            let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(entry) = entries.map.get_mut(&key) {
                entry.1 = size;
                entries.bytes += size;
                entries.evict_to_fit();
            }
        }
        compiled
    }

    /// Forgets a failure the judge caused, so a retry compiles again.
    fn forget(&self, key: &[u8; 32]) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((_, size)) = entries.map.remove(key) {
            entries.bytes -= size;
        }
        entries.order.retain(|k| k != key);
    }
}

pub use crate::limits::DEFAULT_TIME_LIMIT;

impl Grader {
    pub fn new(languages: Arc<Languages>) -> Grader {
        let parallelism = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
        Grader { languages, validators: Mutex::new(HashMap::new()), compiled: CompileCache::default(), parallelism }
    }

    /// Sets how many tests of one submission may run at once (at least 1).
    pub fn with_parallelism(mut self, tests_at_once: usize) -> Grader {
        self.parallelism = tests_at_once.max(1);
        self
    }

    pub fn language(&self, id: &str) -> Result<&Language, GradeError> {
        let lang =
            self.languages.get(id).ok_or_else(|| GradeError::UnknownLanguage(id.to_string(), self.languages.ids()))?;
        if let Some(reason) = lang.unavailable_reason() {
            return Err(GradeError::Unavailable(id.to_string(), reason));
        }
        Ok(lang)
    }

    /// Blocking. `progress(done, total)` is called after each test.
    pub fn grade(
        &self,
        problem: &Problem,
        submission: &Submission,
        options: &GradeOptions,
        progress: &(dyn Fn(usize, usize) + Sync),
    ) -> Result<GradeResult, GradeError> {
        let lang = self.language(&submission.language)?;
        let time_limit = options.time_limit.or(problem.time_limit).unwrap_or(DEFAULT_TIME_LIMIT);
        if !(time_limit.is_finite() && time_limit > 0.0) {
            return Err(GradeError::Problem(format!("time limit must be positive, got {time_limit}")));
        }
        let memory_mib = options.memory_mib.unwrap_or(problem.memory_mib);
        let mut result = GradeResult {
            language: lang.id.clone(),
            verdict: Verdict::AC,
            score: 0.0,
            time_ms: 0,
            memory_kb: 0,
            compile: CompileInfo { ok: false, output: String::new(), time_ms: 0 },
            tests: Vec::new(),
        };
        let source = String::from_utf8_lossy(&submission.source).into_owned();
        let key = self.compiled.key(lang, &submission.source, memory_mib);
        let mut internal_error = None;
        let compiled = self.compiled.get_or_build(key, || {
            match build(lang, &[(lang.source_name(&source), submission.source.clone())], &source, memory_mib) {
                Ok((built, info)) => Ok((Arc::new(built), info)),
                Err(BuildFailure::Compile(info)) => Err(info),
                Err(BuildFailure::Internal(message)) => {
                    internal_error = Some(message.clone());
                    Err(CompileInfo { ok: false, output: message, time_ms: 0 })
                }
            }
        });
        if let Some(message) = internal_error {
            self.compiled.forget(&key);
            return Err(GradeError::Internal(message));
        }
        let built = match compiled {
            Ok((built, info)) => {
                result.compile = info;
                built
            }
            Err(info) => {
                result.compile = info;
                result.verdict = Verdict::CE;
                return Ok(result);
            }
        };
        let validator = match &problem.validator {
            ValidatorSpec::Default => None,
            ValidatorSpec::Custom(path) => Some(self.validator(path)?),
        };
        let limits = lang.run_limits(Duration::from_secs_f64(time_limit), memory_mib * MIB, problem.output_mib * MIB);
        let scratch =
            Scratch::new(problem.output_mib * MIB * 4 + 64 * MIB).map_err(|e| GradeError::Internal(e.to_string()))?;
        let stop_early = !options.run_all && !problem.scoring;
        let outcomes = self.run_tests(problem, &built, &limits, validator.as_deref(), &scratch, stop_early, progress);
        for outcome in outcomes {
            result.time_ms = result.time_ms.max(outcome.time_ms);
            result.memory_kb = result.memory_kb.max(outcome.memory_kb);
            if outcome.verdict != Verdict::AC && result.verdict == Verdict::AC {
                result.verdict = outcome.verdict;
            }
            result.tests.push(outcome);
        }
        let verdicts: Vec<Verdict> = result.tests.iter().map(|t| t.verdict).collect();
        result.score = problem.score(&verdicts);
        Ok(result)
    }

    /// Runs the tests on up to `parallelism` threads, launching them in
    /// order. With `stop_early`, nothing after the first failure is launched
    /// and results end at the first failure, exactly as a sequential run.
    #[allow(clippy::too_many_arguments)]
    fn run_tests(
        &self,
        problem: &Problem,
        built: &Built,
        limits: &Limits,
        validator: Option<&Result<Built, String>>,
        scratch: &Scratch,
        stop_early: bool,
        progress: &(dyn Fn(usize, usize) + Sync),
    ) -> Vec<TestResult> {
        let total = problem.tests.len();
        let next = AtomicUsize::new(0);
        let first_failure = AtomicUsize::new(usize::MAX);
        let finished = AtomicUsize::new(0);
        let slots: Vec<Mutex<Option<TestResult>>> = (0..total).map(|_| Mutex::new(None)).collect();
        let worker = || loop {
            let index = next.fetch_add(1, Ordering::SeqCst);
            if index >= total || (stop_early && index > first_failure.load(Ordering::SeqCst)) {
                break;
            }
            let context = TestContext { built, limits, validator, scratch, index, problem };
            let outcome = run_test(&context, &problem.tests[index]);
            if outcome.verdict != Verdict::AC {
                first_failure.fetch_min(index, Ordering::SeqCst);
            }
            *slots[index].lock().unwrap_or_else(|p| p.into_inner()) = Some(outcome);
            progress(finished.fetch_add(1, Ordering::SeqCst) + 1, total);
        };
        let threads = self.parallelism.min(total).max(1);
        std::thread::scope(|scope| {
            for _ in 1..threads {
                scope.spawn(worker);
            }
            worker();
        });
        let cut = if stop_early { first_failure.load(Ordering::SeqCst).saturating_add(1).min(total) } else { total };
        slots.into_iter().take(cut).filter_map(|slot| slot.into_inner().unwrap_or_else(|p| p.into_inner())).collect()
    }

    fn validator(&self, path: &Path) -> Result<Arc<Result<Built, String>>, GradeError> {
        let mut cache = self.validators.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(built) = cache.get(path) {
            return Ok(built.clone());
        }
        let built = Arc::new(self.build_validator(path));
        cache.insert(path.to_path_buf(), built.clone());
        Ok(built)
    }

    /// Builds a package's validator (one source file, or a directory whose
    /// sources of one language are compiled together) in the sandbox.
    fn build_validator(&self, path: &Path) -> Result<Built, String> {
        let files: Vec<PathBuf> = if path.is_dir() {
            let mut files: Vec<PathBuf> = std::fs::read_dir(path)
                .map_err(|e| format!("{}: {e}", path.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file())
                .collect();
            files.sort();
            files
        } else {
            vec![path.to_path_buf()]
        };
        let (lang, sources) = ["cpp", "c", "python3", "java", "rust", "go", "javascript"]
            .iter()
            .filter_map(|id| self.languages.get(id))
            .find_map(|lang| {
                let sources: Vec<&PathBuf> = files
                    .iter()
                    .filter(|f| {
                        f.extension().and_then(|e| e.to_str()).is_some_and(|e| lang.extensions.iter().any(|x| x == e))
                    })
                    .collect();
                (!sources.is_empty()).then_some((lang, sources))
            })
            .ok_or_else(|| format!("{}: no validator source in a known language", path.display()))?;
        if let Some(reason) = lang.unavailable_reason() {
            return Err(format!("validator language {}: {reason}", lang.id));
        }
        let mut named = Vec::new();
        for file in &files {
            let data = std::fs::read(file).map_err(|e| format!("{}: {e}", file.display()))?;
            let name = file.file_name().and_then(|n| n.to_str()).unwrap_or("file").to_string();
            named.push((name, data));
        }
        let first_source = sources[0].file_name().and_then(|n| n.to_str()).unwrap_or("").to_string();
        let text = named
            .iter()
            .find(|(n, _)| *n == first_source)
            .map(|(_, d)| String::from_utf8_lossy(d).into_owned())
            .unwrap_or_default();
        if sources.len() == 1 {
            // A lone source takes the language's source name, like a submission.
            let source_name = first_source.clone();
            let target = lang.source_name(&text);
            for entry in named.iter_mut() {
                if entry.0 == source_name {
                    entry.0 = target.clone();
                }
            }
        }
        let source_names: Vec<String> =
            sources.iter().filter_map(|s| s.file_name().and_then(|n| n.to_str()).map(String::from)).collect();
        let mut lang = lang.clone();
        if sources.len() > 1 {
            // Compile every source: the language's source name stands for all of them.
            if let Some(cmd) = lang.compile.as_mut() {
                let position = cmd.iter().position(|a| *a == lang.source);
                if let Some(position) = position {
                    cmd.splice(position..=position, source_names.iter().cloned());
                }
            }
        }
        match build(&lang, &named, &text, 1024) {
            Ok((built, _)) => Ok(built),
            Err(BuildFailure::Compile(info)) => {
                Err(format!("validator {} does not compile:\n{}", path.display(), info.output))
            }
            Err(BuildFailure::Internal(message)) => Err(message),
        }
    }
}

enum BuildFailure {
    Compile(CompileInfo),
    Internal(String),
}

/// Writes `files` into a fresh work dir and compiles them there, sandboxed.
/// `source_text` is the main source, from which Java's class name comes.
fn build(
    lang: &Language,
    files: &[(String, Vec<u8>)],
    source_text: &str,
    memory_mib: u64,
) -> Result<(Built, CompileInfo), BuildFailure> {
    let dir = Scratch::new(WORKDIR_BYTES).map_err(|e| BuildFailure::Internal(e.to_string()))?;
    if files.iter().all(|(_, d)| d.iter().all(|b| b.is_ascii_whitespace())) {
        return Err(BuildFailure::Compile(CompileInfo { ok: false, output: "empty source file".into(), time_ms: 0 }));
    }
    for (name, data) in files {
        if name.contains('/') || name.starts_with('.') {
            return Err(BuildFailure::Internal(format!("bad source file name {name:?}")));
        }
        dir.write(name, data).map_err(|e| BuildFailure::Internal(e.to_string()))?;
    }
    let mut info = CompileInfo { ok: true, output: String::new(), time_ms: 0 };
    if let Some(compile) = lang.compile_command(source_text) {
        let result = sandboxed(lang, compile, lang.compile_limits()).workdir(dir.path(), true).run();
        info.time_ms = result.time_ms;
        let mut output = String::from_utf8_lossy(&result.stdout).into_owned();
        output.push_str(&String::from_utf8_lossy(&result.stderr));
        if output.len() > COMPILE_OUTPUT_LIMIT {
            let mut cut = COMPILE_OUTPUT_LIMIT;
            while !output.is_char_boundary(cut) {
                cut -= 1;
            }
            output.truncate(cut);
            output.push_str("\n[compiler output truncated]");
        }
        let limits = &lang.compile_limits;
        let reason = match result.status {
            RunStatus::Ok => None,
            RunStatus::Re => Some(String::new()),
            RunStatus::Tle => {
                Some(format!("the compiler exceeded its time limit ({} s CPU, {} s wall)", limits.cpu, limits.wall))
            }
            RunStatus::Mle => Some(format!("the compiler exceeded its memory limit ({} MiB)", limits.memory_mib)),
            RunStatus::Ole => Some(format!("the compiler exceeded its output limit ({} MiB)", limits.output_mib)),
            RunStatus::Ie => {
                return Err(BuildFailure::Internal(format!(
                    "compiling {}: {}",
                    lang.id,
                    result.message.unwrap_or_default()
                )))
            }
        };
        if let Some(reason) = reason {
            if !reason.is_empty() {
                output = format!("{reason}\n{output}");
            }
            info.ok = false;
            info.output = output;
            return Err(BuildFailure::Compile(info));
        }
        info.output = output;
    }
    let run = lang.run_command(source_text, memory_mib);
    Ok((Built { dir, run, language: lang.clone() }, info))
}

/// A sandboxed command with a language's binds and environment.
fn sandboxed(lang: &Language, argv: Vec<String>, limits: Limits) -> Command {
    let mut command = Command::new(&argv[0]).args(&argv[1..]).limits(limits);
    for bind in &lang.binds {
        command = command.bind_ro(bind, bind);
    }
    for (key, value) in &lang.env {
        command = command.env(key, value);
    }
    command
}

struct TestContext<'a> {
    built: &'a Built,
    limits: &'a Limits,
    validator: Option<&'a Result<Built, String>>,
    scratch: &'a Scratch,
    index: usize,
    problem: &'a Problem,
}

fn test_result(test: &TestCase, verdict: Verdict, run: &RunResult, feedback: Option<String>) -> TestResult {
    TestResult {
        name: test.name.clone(),
        verdict,
        time_ms: run.time_ms,
        wall_ms: run.wall_ms,
        memory_kb: run.memory_kb,
        exit_code: run.exit_code,
        signal: run.signal.clone(),
        feedback,
    }
}

fn internal(test: &TestCase, message: String) -> TestResult {
    test_result(test, Verdict::IE, &RunResult::internal_error(""), Some(message))
}

fn status_verdict(status: RunStatus) -> Verdict {
    match status {
        RunStatus::Ok => Verdict::AC,
        RunStatus::Tle => Verdict::TLE,
        RunStatus::Mle => Verdict::MLE,
        RunStatus::Ole => Verdict::OLE,
        RunStatus::Re => Verdict::RE,
        RunStatus::Ie => Verdict::IE,
    }
}

fn run_test(ctx: &TestContext, test: &TestCase) -> TestResult {
    if ctx.problem.interactive {
        return match (test.input.read(), test.answer.read()) {
            (Ok(input), Ok(answer)) => run_interactive(ctx, test, &input, &answer),
            (Err(e), _) | (_, Err(e)) => internal(test, format!("reading data of {}: {e}", test.name)),
        };
    }
    let stdin = match test.stdin() {
        Ok(i) => i,
        Err(e) => return internal(test, format!("preparing input of {}: {e}", test.name)),
    };
    let run = submission_command(ctx).stdin(Stdio::Input(stdin)).run();
    if run.status != RunStatus::Ok {
        let feedback = (run.status == RunStatus::Ie).then(|| run.message.clone().unwrap_or_default());
        return test_result(test, status_verdict(run.status), &run, feedback);
    }
    let answer = match test.answer.read() {
        Ok(bytes) => bytes,
        Err(e) => return internal(test, format!("reading answer of {}: {e}", test.name)),
    };
    match ctx.validator {
        // Flags were parsed when the problem was loaded.
        None => match validate::compare(&answer, &run.stdout, &test.default_flags) {
            validate::Outcome::Accepted => test_result(test, Verdict::AC, &run, None),
            validate::Outcome::WrongAnswer(why) => test_result(test, Verdict::WA, &run, Some(why)),
        },
        Some(Err(e)) => internal(test, e.clone()),
        Some(Ok(validator)) => {
            let team_output = match Input::from_bytes(&run.stdout) {
                Ok(i) => i,
                Err(e) => return internal(test, format!("preparing output for the validator: {e}")),
            };
            let input = match test.input.read() {
                Ok(bytes) => bytes,
                Err(e) => return internal(test, format!("reading input of {}: {e}", test.name)),
            };
            match validate_custom(ctx, validator, test, &input, &answer, Stdio::Input(team_output), Stdio::Capture) {
                Ok((verdict, feedback)) => test_result(test, verdict, &run, feedback),
                Err(message) => internal(test, message),
            }
        }
    }
}

fn submission_command(ctx: &TestContext) -> Command {
    sandboxed(&ctx.built.language, ctx.built.run.clone(), ctx.limits.clone()).workdir(ctx.built.dir.path(), false)
}

/// Limits for validators: generous, but bounded.
fn validator_limits(problem_limits: &Limits) -> Limits {
    let cpu = problem_limits.cpu * 4 + Duration::from_secs(10);
    let mut limits = Limits::new(cpu, 2048 * MIB);
    limits.wall = problem_limits.wall * 2 + Duration::from_secs(20);
    limits.address_space = None;
    limits.processes = 256;
    limits
}

/// Runs a Kattis output validator: `validator input answer feedback_dir [flags]`.
fn validate_custom(
    ctx: &TestContext,
    validator: &Built,
    test: &TestCase,
    input: &[u8],
    answer: &[u8],
    stdin: Stdio,
    stdout: Stdio,
) -> Result<(Verdict, Option<String>), String> {
    let dir_name = format!("t{}", ctx.index);
    let dir = ctx.scratch.subdir(&dir_name).map_err(|e| format!("test dir: {e}"))?;
    ctx.scratch.write(&format!("{dir_name}/input"), input).map_err(|e| e.to_string())?;
    ctx.scratch.write(&format!("{dir_name}/answer"), answer).map_err(|e| e.to_string())?;
    ctx.scratch.subdir(&format!("{dir_name}/feedback")).map_err(|e| format!("feedback dir: {e}"))?;
    let mut argv = validator.run.clone();
    argv.extend(["/data/input".into(), "/data/answer".into(), "/data/feedback/".into()]);
    argv.extend(test.validator_flags.iter().cloned());
    let run = sandboxed(&validator.language, argv, validator_limits(ctx.limits))
        .workdir(validator.dir.path(), false)
        .bind(crate::sandbox::Bind { source: dir, target: "/data".into(), writable: true })
        .stdin(stdin)
        .stdout(stdout)
        .run();
    let feedback = ctx
        .scratch
        .read_untrusted(&format!("{dir_name}/feedback/judgemessage.txt"), FEEDBACK_LIMIT)
        .map(|b| String::from_utf8_lossy(&b).trim_end().to_string())
        .filter(|s| !s.is_empty());
    match (run.status, run.exit_code) {
        (_, Some(VALIDATOR_ACCEPT)) => Ok((Verdict::AC, feedback)),
        (_, Some(VALIDATOR_REJECT)) => Ok((Verdict::WA, feedback)),
        _ => {
            let detail = feedback.or_else(|| {
                let err = String::from_utf8_lossy(&run.stderr).trim().to_string();
                (!err.is_empty()).then_some(err)
            });
            Err(format!(
                "validator failed ({:?}, exit {:?}, signal {:?}){}{}",
                run.status,
                run.exit_code,
                run.signal,
                run.message.map(|m| format!(": {m}")).unwrap_or_default(),
                detail.map(|d| format!(": {d}")).unwrap_or_default()
            ))
        }
    }
}

fn pipe() -> Result<(OwnedFd, OwnedFd), String> {
    nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(|e| format!("creating pipe: {e}"))
}

/// Interactive problems: the validator's stdout feeds the submission's stdin
/// and the other way round; both run at once, each in its own sandbox.
fn run_interactive(ctx: &TestContext, test: &TestCase, input: &[u8], answer: &[u8]) -> TestResult {
    let validator = match ctx.validator {
        Some(Ok(v)) => v,
        Some(Err(e)) => return internal(test, e.clone()),
        None => return internal(test, "interactive problem without a validator".into()),
    };
    let pipes = pipe().and_then(|a| pipe().map(|b| (a, b)));
    let ((to_sub_read, to_sub_write), (from_sub_read, from_sub_write)) = match pipes {
        Ok(p) => p,
        Err(e) => return internal(test, e),
    };
    let submission = submission_command(ctx).stdin(Stdio::Fd(to_sub_read)).stdout(Stdio::Fd(from_sub_write));
    let (run, judged) = std::thread::scope(|scope| {
        let sub = scope.spawn(move || submission.run());
        let judged =
            validate_custom(ctx, validator, test, input, answer, Stdio::Fd(from_sub_read), Stdio::Fd(to_sub_write));
        let run = sub.join().unwrap_or_else(|_| RunResult::internal_error("submission thread panicked"));
        (run, judged)
    });
    let (validator_verdict, feedback) = match judged {
        Ok(v) => v,
        Err(e) => return internal(test, e),
    };
    // The submission's own failures win over a WA that follows from them,
    // except a broken pipe, which follows from the validator hanging up.
    let verdict = match run.status {
        RunStatus::Tle | RunStatus::Mle | RunStatus::Ole | RunStatus::Ie => status_verdict(run.status),
        RunStatus::Re if run.signal.as_deref() == Some("SIGPIPE") && validator_verdict == Verdict::WA => Verdict::WA,
        RunStatus::Re => Verdict::RE,
        RunStatus::Ok => validator_verdict,
    };
    let feedback = if run.status == RunStatus::Ie { run.message.clone() } else { feedback };
    test_result(test, verdict, &run, feedback)
}
