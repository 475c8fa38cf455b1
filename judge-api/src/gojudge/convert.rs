//! go-judge's request model → what this judge runs: every field checked into
//! its range (a 400 naming the field otherwise), limits turned into the
//! engine's `Limits`, files and pipes into a plan `run.rs` carries out. The
//! one place that decides what a go-judge field means here.

use std::path::{Component, Path};
use std::time::Duration;

use engine::limits::MIB;
use engine::sandbox::Limits;

use super::error::{bad, GoJudgeError};
use super::model::{Cmd, FileSpec, PipeMap, RunRequest};

/// Commands in one request.
pub const MAX_CMDS: usize = 16;
/// CPU limit when a command gives none (go-judge's zero value means "unset").
pub const DEFAULT_CPU: Duration = Duration::from_secs(10);
pub const MAX_CPU: Duration = Duration::from_secs(300);
pub const MAX_CLOCK: Duration = Duration::from_secs(900);
const MIN_TIME: Duration = Duration::from_millis(1);
pub const DEFAULT_MEMORY: u64 = 256 * MIB;
pub const MAX_MEMORY: u64 = 16 * 1024 * MIB;
pub const DEFAULT_PROCS: u64 = 64;
pub const MAX_PROCS: u64 = 4096;
/// Bytes a `copyOut` file, a collected output or a proxy transcript may
/// reach when the request says nothing.
pub const DEFAULT_OUTPUT: u64 = 64 * MIB;
pub const MAX_OUTPUT: u64 = 256 * MIB;
const MAX_ARGS: usize = 4096;
const MAX_FILES_PER_CMD: usize = 1024;
const MAX_NAME_BYTES: usize = 4096;

/// Where a file's bytes come from.
#[derive(Debug, Clone)]
pub enum Source {
    Content(Vec<u8>),
    /// A file of the cache, looked up when the run starts.
    Cached(String),
}

#[derive(Debug)]
pub enum InputPlan {
    Null,
    File(Source),
    Pipe,
}

#[derive(Debug)]
pub enum OutputPlan {
    Null,
    /// Captured and returned in `files[name]`; more than `max` bytes is OLE.
    Collect {
        name: String,
        max: u64,
    },
    Pipe,
}

#[derive(Debug)]
pub struct CopyOut {
    pub name: String,
    /// A trailing `?`: a missing file is no error.
    pub optional: bool,
}

/// One command, checked.
#[derive(Debug)]
pub struct CmdPlan {
    pub argv: Vec<String>,
    pub env: Vec<(String, String)>,
    pub limits: Limits,
    pub stdin: InputPlan,
    /// stdout and stderr.
    pub outputs: [OutputPlan; 2],
    pub copy_in: Vec<(String, Source)>,
    /// name → target, made after the files (so no file is written through one).
    pub symlinks: Vec<(String, String)>,
    pub copy_out: Vec<CopyOut>,
    pub copy_out_cached: Vec<CopyOut>,
    pub copy_out_max: u64,
}

/// A pipe from `writer`'s fd (1 or 2) to `reader`'s stdin.
#[derive(Debug)]
pub struct PipePlan {
    pub writer: (usize, usize),
    pub reader: usize,
    /// Relay through the judge, recording up to `max` bytes as `name`.
    pub proxy: bool,
    pub name: String,
    pub max: u64,
}

#[derive(Debug)]
pub struct Plan {
    pub cmds: Vec<CmdPlan>,
    pub pipes: Vec<PipePlan>,
}

pub fn plan(request: RunRequest) -> Result<Plan, GoJudgeError> {
    if request.cmd.is_empty() || request.cmd.len() > MAX_CMDS {
        return Err(bad(format!("cmd must hold 1 to {MAX_CMDS} commands, got {}", request.cmd.len())));
    }
    let count = request.cmd.len();
    let mut pipe_fds: Vec<[bool; 3]> = vec![[false; 3]; count];
    let mut pipes = Vec::new();
    for (k, pipe) in request.pipe_mapping.iter().enumerate() {
        pipes.push(pipe_plan(k, pipe, count, &mut pipe_fds)?);
    }
    let cmds = request
        .cmd
        .into_iter()
        .enumerate()
        .map(|(i, cmd)| cmd_plan(i, cmd, &pipe_fds[i]))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Plan { cmds, pipes })
}

fn pipe_plan(k: usize, pipe: &PipeMap, count: usize, used: &mut [[bool; 3]]) -> Result<PipePlan, GoJudgeError> {
    let field = format!("pipeMapping[{k}]");
    for (end, side) in [(pipe.input, "in"), (pipe.output, "out")] {
        if end.index >= count {
            return Err(bad(format!("{field}.{side}.index {} is not a command index (0 to {})", end.index, count - 1)));
        }
    }
    if !matches!(pipe.input.fd, 1 | 2) {
        return Err(GoJudgeError::Unsupported(format!(
            "{field}.in.fd must be 1 or 2 (the writing command's stdout or stderr), got {}; \
             this judge gives programs fds 0 to 2 only",
            pipe.input.fd
        )));
    }
    if pipe.output.fd != 0 {
        return Err(GoJudgeError::Unsupported(format!(
            "{field}.out.fd must be 0 (the reading command's stdin), got {}; this judge gives programs fds 0 to 2 only",
            pipe.output.fd
        )));
    }
    for (end, side) in [(pipe.input, "in"), (pipe.output, "out")] {
        if std::mem::replace(&mut used[end.index][end.fd], true) {
            return Err(bad(format!(
                "{field}.{side}: fd {} of cmd[{}] is already joined by another pipe",
                end.fd, end.index
            )));
        }
    }
    let max = output_bytes(&format!("{field}.max"), pipe.max)?;
    Ok(PipePlan {
        writer: (pipe.input.index, pipe.input.fd),
        reader: pipe.output.index,
        proxy: pipe.proxy,
        name: pipe.name.clone(),
        max,
    })
}

fn cmd_plan(i: usize, cmd: Cmd, piped: &[bool; 3]) -> Result<CmdPlan, GoJudgeError> {
    let field = |name: &str| format!("cmd[{i}].{name}");
    unsupported(i, &cmd)?;
    if cmd.args.is_empty() || cmd.args[0].is_empty() {
        return Err(bad(format!("{} must name the program to run", field("args"))));
    }
    if cmd.args.len() > MAX_ARGS || cmd.env.len() > MAX_ARGS {
        return Err(bad(format!("{} and {} hold at most {MAX_ARGS} entries each", field("args"), field("env"))));
    }
    if let Some(k) = cmd.args.iter().position(|a| a.contains('\0')) {
        return Err(bad(format!("{}[{k}] contains a NUL byte", field("args"))));
    }
    let env = cmd
        .env
        .iter()
        .enumerate()
        .map(|(k, entry)| match entry.split_once('=') {
            Some((key, value)) if !key.is_empty() && !entry.contains('\0') => Ok((key.to_string(), value.to_string())),
            _ => Err(bad(format!("{}[{k}] must be KEY=value without NUL bytes, got {entry:?}", field("env")))),
        })
        .collect::<Result<Vec<_>, _>>()?;

    let cpu = nanoseconds(&field("cpuLimit"), cmd.cpu_limit, DEFAULT_CPU, MAX_CPU)?;
    let real_cpu = nanoseconds(&field("realCpuLimit"), cmd.real_cpu_limit, DEFAULT_CPU, MAX_CLOCK)?;
    let memory = bytes_in(&field("memoryLimit"), cmd.memory_limit, DEFAULT_MEMORY, MIB, MAX_MEMORY)?;
    // Stack pages count as memory, and the stack rlimit is left unlimited so
    // that threads get glibc's default stacks: the value is checked only.
    bytes_in(&field("stackLimit"), cmd.stack_limit, MIB, 4096, MAX_MEMORY)?;
    let mut limits = Limits::new(cpu, memory);
    if cmd.clock_limit != 0 {
        limits.wall = nanoseconds(&field("clockLimit"), cmd.clock_limit, DEFAULT_CPU, MAX_CLOCK)?;
    }
    // As in go-judge, a real-CPU limit stands in for the clock limit.
    if cmd.real_cpu_limit != 0 {
        limits.wall = real_cpu;
    }
    limits.processes = match cmd.proc_limit {
        0 => DEFAULT_PROCS,
        n if n <= MAX_PROCS => n,
        n => return Err(bad(format!("{} must be between 1 and {MAX_PROCS}, got {n}", field("procLimit")))),
    };
    if cmd.strict_memory_limit || cmd.address_space_limit || cmd.data_segment_limit {
        // go-judge's strict mode: the address space itself is capped, so an
        // allocation past the limit fails instead of being measured.
        limits.address_space = Some(memory);
    }
    let copy_out_max = output_bytes(&field("copyOutMax"), cmd.copy_out_max)?;

    let stdin = match (cmd.files.first(), piped[0]) {
        (None | Some(None), true) => InputPlan::Pipe,
        (Some(Some(_)), true) => return Err(pipe_clash(i, 0)),
        (None | Some(None), false) => InputPlan::Null,
        (Some(Some(spec)), false) => InputPlan::File(input_source(&format!("cmd[{i}].files[0]"), spec)?),
    };
    let mut outputs = [OutputPlan::Null, OutputPlan::Null];
    for fd in 1..=2 {
        outputs[fd - 1] = match (cmd.files.get(fd), piped[fd]) {
            (None | Some(None), true) => OutputPlan::Pipe,
            (Some(Some(_)), true) => return Err(pipe_clash(i, fd)),
            (None | Some(None), false) => OutputPlan::Null,
            (Some(Some(spec)), false) => collector(&format!("cmd[{i}].files[{fd}]"), spec)?,
        };
    }
    if cmd.files.len() > 3 {
        return Err(GoJudgeError::Unsupported(format!(
            "{} has {} entries; this judge gives programs fds 0 to 2 only",
            field("files"),
            cmd.files.len()
        )));
    }
    if let [OutputPlan::Collect { name: a, .. }, OutputPlan::Collect { name: b, .. }] = &outputs {
        if a == b {
            return Err(GoJudgeError::Unsupported(format!(
                "{}: stdout and stderr collected under one name ({a:?}) are not supported; name them apart",
                field("files")
            )));
        }
    }
    limits.output = copy_out_max;
    for output in &outputs {
        if let OutputPlan::Collect { max, .. } = output {
            limits.output = limits.output.max(*max);
        }
    }

    if cmd.copy_in.len() > MAX_FILES_PER_CMD {
        return Err(bad(format!("{} holds at most {MAX_FILES_PER_CMD} files", field("copyIn"))));
    }
    let mut copy_in = Vec::new();
    let mut symlinks = Vec::new();
    for (name, spec) in cmd.copy_in {
        let at = format!("cmd[{i}].copyIn[{name:?}]");
        check_relative_path(&at, &name)?;
        match &spec.symlink {
            Some(target) if spec.content.is_none() && spec.file_id.is_none() && spec.src.is_none() => {
                if target.is_empty() || target.len() > MAX_NAME_BYTES || target.contains('\0') {
                    return Err(bad(format!("{at}.symlink must be 1 to {MAX_NAME_BYTES} bytes without NUL")));
                }
                symlinks.push((name, target.clone()));
            }
            _ => copy_in.push((name.clone(), input_source(&at, &spec)?)),
        }
    }
    let copy_out = copy_out_names(&field("copyOut"), cmd.copy_out)?;
    let copy_out_cached = copy_out_names(&field("copyOutCached"), cmd.copy_out_cached)?;
    Ok(CmdPlan {
        argv: cmd.args,
        env,
        limits,
        stdin,
        outputs,
        copy_in,
        symlinks,
        copy_out,
        copy_out_cached,
        copy_out_max,
    })
}

/// go-judge features this judge refuses rather than quietly ignores.
fn unsupported(i: usize, cmd: &Cmd) -> Result<(), GoJudgeError> {
    let refuse = |what: &str| Err(GoJudgeError::Unsupported(format!("cmd[{i}].{what}")));
    if cmd.tty {
        return refuse("tty: terminals are not supported; programs get pipes or files");
    }
    if cmd.cpu_rate_limit != 0 || !cmd.cpu_set_limit.is_empty() {
        return refuse("cpuRateLimit/cpuSetLimit: this judge does not use cgroups, so it cannot throttle or pin CPUs");
    }
    if !cmd.copy_out_dir.is_empty() {
        return refuse("copyOutDir: the judge writes no host directory on a client's say-so");
    }
    Ok(())
}

fn pipe_clash(i: usize, fd: usize) -> GoJudgeError {
    bad(format!("cmd[{i}].files[{fd}] must be null: pipeMapping joins that fd"))
}

/// A stdin or `copyIn` file: `{content}` or `{fileId}`.
fn input_source(field: &str, spec: &FileSpec) -> Result<Source, GoJudgeError> {
    if spec.src.is_some() {
        return Err(GoJudgeError::Unsupported(format!(
            "{field}: {{\"src\"}} host paths are refused; no host file is read on a client's say-so \
             (send {{\"content\"}} or upload it and send {{\"fileId\"}})"
        )));
    }
    if spec.stream_in.is_some() || spec.stream_out.is_some() {
        return Err(GoJudgeError::Unsupported(format!("{field}: streams are not supported (no WebSocket API)")));
    }
    if spec.symlink.is_some() {
        return Err(bad(format!("{field}: a symlink goes in copyIn alone, without content, fileId or src")));
    }
    match (&spec.content, &spec.file_id) {
        (Some(content), None) => Ok(Source::Content(content.clone().into_bytes())),
        (None, Some(id)) => Ok(Source::Cached(id.clone())),
        _ => Err(bad(format!("{field} must have exactly one of \"content\" or \"fileId\""))),
    }
}

/// A stdout or stderr: `{name, max}`.
fn collector(field: &str, spec: &FileSpec) -> Result<OutputPlan, GoJudgeError> {
    if spec.src.is_some() {
        return Err(GoJudgeError::Unsupported(format!(
            "{field}: {{\"src\"}} host paths are refused; use {{\"name\": \"stdout\", \"max\": N}}"
        )));
    }
    if spec.stream_in.is_some() || spec.stream_out.is_some() {
        return Err(GoJudgeError::Unsupported(format!("{field}: streams are not supported (no WebSocket API)")));
    }
    let Some(name) = &spec.name else {
        return Err(bad(format!("{field} is an output: it must be {{\"name\": …, \"max\": N}}")));
    };
    if name.is_empty() || name.len() > MAX_NAME_BYTES || name.contains('\0') {
        return Err(bad(format!("{field}.name must be 1 to {MAX_NAME_BYTES} bytes without NUL")));
    }
    let max = output_bytes(&format!("{field}.max"), spec.max.unwrap_or(0))?;
    Ok(OutputPlan::Collect { name: name.clone(), max })
}

fn copy_out_names(field: &str, names: Vec<String>) -> Result<Vec<CopyOut>, GoJudgeError> {
    if names.len() > MAX_FILES_PER_CMD {
        return Err(bad(format!("{field} holds at most {MAX_FILES_PER_CMD} names")));
    }
    names
        .into_iter()
        .map(|raw| {
            let (name, optional) = match raw.strip_suffix('?') {
                Some(name) => (name.to_string(), true),
                None => (raw.clone(), false),
            };
            check_relative_path(&format!("{field}[{raw:?}]"), &name)?;
            Ok(CopyOut { name, optional })
        })
        .collect()
}

/// A path inside the work dir: relative, no `..`/`.`/empty parts, no NUL.
pub fn check_relative_path(field: &str, name: &str) -> Result<(), GoJudgeError> {
    let fail = |why: &str| Err(bad(format!("{field}: {why}")));
    if name.is_empty() || name.len() > MAX_NAME_BYTES {
        return fail(&format!("a file name must be 1 to {MAX_NAME_BYTES} bytes"));
    }
    if name.contains('\0') {
        return fail("a file name must not contain NUL");
    }
    if name.starts_with('/') {
        return fail("absolute paths are refused; names are relative to the work dir");
    }
    if name.split('/').any(|part| part.is_empty() || part == "." || part == ".." || part.len() > 255) {
        return fail("every part of the name must be a plain file name (no \"..\", \".\" or empty parts)");
    }
    if !Path::new(name).components().all(|c| matches!(c, Component::Normal(_))) {
        return fail("the name must stay inside the work dir");
    }
    Ok(())
}

/// ns → Duration, 0 meaning `default`, otherwise in [1 ms, max].
fn nanoseconds(field: &str, ns: u64, default: Duration, max: Duration) -> Result<Duration, GoJudgeError> {
    if ns == 0 {
        return Ok(default);
    }
    let value = Duration::from_nanos(ns);
    if value < MIN_TIME || value > max {
        return Err(bad(format!(
            "{field} must be between {} and {} ns, got {ns}",
            MIN_TIME.as_nanos(),
            max.as_nanos()
        )));
    }
    Ok(value)
}

fn bytes_in(field: &str, value: u64, default: u64, min: u64, max: u64) -> Result<u64, GoJudgeError> {
    match value {
        0 => Ok(default),
        v if (min..=max).contains(&v) => Ok(v),
        v => Err(bad(format!("{field} must be between {min} and {max} bytes, got {v}"))),
    }
}

fn output_bytes(field: &str, value: u64) -> Result<u64, GoJudgeError> {
    bytes_in(field, value, DEFAULT_OUTPUT, 1, MAX_OUTPUT)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(json: serde_json::Value) -> Result<Plan, GoJudgeError> {
        plan(serde_json::from_value(json).unwrap())
    }

    #[test]
    fn limits_are_converted_and_ranged() {
        let plan = request(serde_json::json!({"cmd": [{
            "args": ["./a"], "cpuLimit": 2_000_000_000u64, "clockLimit": 5_000_000_000u64,
            "memoryLimit": 64 << 20, "procLimit": 5, "strictMemoryLimit": true,
            "files": [{"content": "1 2"}, {"name": "stdout", "max": 100}, {"name": "stderr", "max": 10}]
        }]}))
        .unwrap();
        let limits = &plan.cmds[0].limits;
        assert_eq!(limits.cpu, Duration::from_secs(2));
        assert_eq!(limits.wall, Duration::from_secs(5));
        assert_eq!(limits.memory, 64 << 20);
        assert_eq!(limits.address_space, Some(64 << 20));
        assert_eq!(limits.processes, 5);
        assert_eq!(limits.output, DEFAULT_OUTPUT);

        for (field, value) in [
            ("cpuLimit", u64::MAX),
            ("cpuLimit", 5),
            ("clockLimit", u64::MAX),
            ("memoryLimit", 100),
            ("memoryLimit", u64::MAX),
            ("procLimit", 100_000),
            ("copyOutMax", u64::MAX),
            ("stackLimit", u64::MAX),
        ] {
            let error = request(serde_json::json!({"cmd": [{"args": ["a"], field: value}]})).unwrap_err();
            assert!(error.to_string().contains(&format!("cmd[0].{field}")), "{field}: {error}");
        }
    }

    #[test]
    fn hostile_names_are_refused() {
        for name in ["../x", "/etc/x", "a/../../x", "a\0b", "", "a//b", "./a"] {
            let error =
                request(serde_json::json!({"cmd": [{"args": ["a"], "copyIn": {name: {"content": "x"}}}]})).unwrap_err();
            assert!(error.to_string().contains("copyIn"), "{name:?}: {error}");
            let error = request(serde_json::json!({"cmd": [{"args": ["a"], "copyOut": [name]}]})).unwrap_err();
            assert!(error.to_string().contains("copyOut"), "{name:?}: {error}");
        }
        assert!(request(serde_json::json!({"cmd": [{"args": ["a"], "copyOut": ["dir/x?"]}]})).is_ok());
    }

    #[test]
    fn host_paths_and_unsupported_features_are_refused() {
        let src = serde_json::json!({"cmd": [{"args": ["a"], "copyIn": {"x": {"src": "/etc/shadow"}}}]});
        assert!(request(src).unwrap_err().to_string().contains("src"));
        let stdin = serde_json::json!({"cmd": [{"args": ["a"], "files": [{"src": "/etc/shadow"}]}]});
        assert!(request(stdin).unwrap_err().to_string().contains("src"));
        let dir = serde_json::json!({"cmd": [{"args": ["a"], "copyOutDir": "/tmp"}]});
        assert!(request(dir).unwrap_err().to_string().contains("copyOutDir"));
        let tty = serde_json::json!({"cmd": [{"args": ["a"], "tty": true}]});
        assert!(request(tty).unwrap_err().to_string().contains("tty"));
    }

    #[test]
    fn pipes_must_join_free_std_fds() {
        let pair = |pipe: serde_json::Value| {
            request(serde_json::json!({"cmd": [
                {"args": ["a"], "files": [null, null, {"name": "stderr", "max": 10}]},
                {"args": ["b"], "files": [null, null]}
            ], "pipeMapping": [pipe]}))
        };
        let plan = pair(serde_json::json!({"in": {"index": 0, "fd": 1}, "out": {"index": 1, "fd": 0}})).unwrap();
        assert!(matches!(plan.cmds[0].outputs[0], OutputPlan::Pipe));
        assert!(matches!(plan.cmds[1].stdin, InputPlan::Pipe));
        assert!(matches!(plan.cmds[1].outputs[0], OutputPlan::Null));
        assert!(pair(serde_json::json!({"in": {"index": 0, "fd": 2}, "out": {"index": 1, "fd": 0}})).is_err());
        assert!(pair(serde_json::json!({"in": {"index": 0, "fd": 1}, "out": {"index": 5, "fd": 0}})).is_err());
        assert!(pair(serde_json::json!({"in": {"index": 0, "fd": 3}, "out": {"index": 1, "fd": 0}})).is_err());
    }
}
