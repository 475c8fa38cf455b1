//! Compiling a program (a submission or a package's validator) in the
//! sandbox, onto a tmpfs of its own that lives as long as the program does.

use crate::language::Language;
use crate::limits::MIB;
use crate::sandbox::{Command, Limits, RunResult, RunStatus};
use crate::scratch::Scratch;

use super::CompileInfo;

/// Compiler messages kept for the result.
const COMPILE_OUTPUT_LIMIT: usize = 64 * 1024;
/// Room for a program's sources and compiled files.
const WORKDIR_BYTES: u64 = 256 * MIB;
/// The longest file name Linux takes (`NAME_MAX`).
const NAME_MAX: usize = 255;

/// A program compiled in the sandbox, kept on its tmpfs.
#[derive(Debug)]
pub(crate) struct Program {
    pub dir: Scratch,
    pub run: Vec<String>,
    pub language: Language,
}

impl Program {
    /// The sandboxed command that runs this program with `limits`.
    pub fn command(&self, limits: Limits) -> Command {
        sandboxed(&self.language, self.run.clone(), limits).workdir(self.dir.path(), false)
    }
}

/// Why nothing was built: the sources' fault (a compile error) or the judge's.
#[derive(Debug)]
pub(crate) enum BuildFailure {
    Compile(CompileInfo),
    Internal(String),
}

fn compile_error(output: String) -> BuildFailure {
    BuildFailure::Compile(CompileInfo { ok: false, output, time_ms: 0 })
}

/// Whether `name` can be a source file name in the work dir; the reason is
/// shown to whoever wrote the source (for Java, the name comes from its class).
pub(crate) fn check_source_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.contains('/') || name.contains('\0') || name.starts_with('.') {
        return Err(format!("{name:?} cannot be a source file name"));
    }
    if name.len() > NAME_MAX {
        return Err(format!(
            "the source file name would be {} bytes long ({}...), over the {NAME_MAX} bytes a file name may have; \
             use a shorter class name",
            name.len(),
            name.chars().take(40).collect::<String>()
        ));
    }
    Ok(())
}

/// Writes `files` into a fresh work dir and compiles them there, sandboxed.
/// `source_text` is the main source, from which Java's class name comes.
pub(crate) fn build(
    lang: &Language,
    files: &[(String, Vec<u8>)],
    source_text: &str,
    memory_mib: u64,
) -> Result<(Program, CompileInfo), BuildFailure> {
    if files.iter().all(|(_, d)| d.iter().all(|b| b.is_ascii_whitespace())) {
        return Err(compile_error("empty source file".into()));
    }
    for (name, _) in files {
        check_source_name(name).map_err(compile_error)?;
    }
    let dir = Scratch::new(WORKDIR_BYTES).map_err(|e| BuildFailure::Internal(e.to_string()))?;
    for (name, data) in files {
        dir.write(name, data).map_err(|e| BuildFailure::Internal(e.to_string()))?;
    }
    let mut info = CompileInfo { ok: true, output: String::new(), time_ms: 0 };
    if let Some(compile) = lang.compile_command(source_text) {
        let result = sandboxed(lang, compile, lang.compile_limits()).workdir(dir.path(), true).run();
        info.time_ms = result.time_ms;
        let mut output = String::from_utf8_lossy(&result.stdout).into_owned();
        output.push_str(&String::from_utf8_lossy(&result.stderr));
        truncate(&mut output);
        let reason = compile_failure(lang, &result).map_err(BuildFailure::Internal)?;
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
    Ok((Program { dir, run, language: lang.clone() }, info))
}

/// Whether a compile step failed: `Ok(None)` if it succeeded,
/// `Ok(Some(reason))` for a compile error (the reason is empty when the
/// compiler just exited non-zero), `Err` when the sandbox failed (the
/// judge's fault).
pub fn compile_failure(lang: &Language, result: &RunResult) -> Result<Option<String>, String> {
    let limits = &lang.compile_limits;
    Ok(match result.status {
        RunStatus::Ok => None,
        RunStatus::Re => Some(String::new()),
        RunStatus::Tle => {
            Some(format!("the compiler exceeded its time limit ({} s CPU, {} s wall)", limits.cpu, limits.wall))
        }
        RunStatus::Mle => Some(format!("the compiler exceeded its memory limit ({} MiB)", limits.memory_mib)),
        RunStatus::Ole => Some(format!("the compiler exceeded its output limit ({} MiB)", limits.output_mib)),
        RunStatus::Ie => return Err(format!("compiling {}: {}", lang.id, result.message.clone().unwrap_or_default())),
    })
}

fn truncate(output: &mut String) {
    if output.len() > COMPILE_OUTPUT_LIMIT {
        let mut cut = COMPILE_OUTPUT_LIMIT;
        while !output.is_char_boundary(cut) {
            cut -= 1;
        }
        output.truncate(cut);
        output.push_str("\n[compiler output truncated]");
    }
}

/// A sandboxed command with a language's binds and environment.
pub fn sandboxed(lang: &Language, argv: Vec<String>, limits: Limits) -> Command {
    let mut command = Command::new(&argv[0]).args(&argv[1..]).limits(limits);
    for bind in &lang.binds {
        command = command.bind_ro(bind, bind);
    }
    for (key, value) in &lang.env {
        command = command.env(key, value);
    }
    command
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_names_too_long_for_a_file_are_the_sources_fault() {
        assert!(check_source_name("Main.java").is_ok());
        assert!(check_source_name(&format!("{}.java", "A".repeat(250))).is_ok());
        let err = check_source_name(&format!("{}.java", "A".repeat(251))).unwrap_err();
        assert!(err.contains("256 bytes") && err.contains("shorter class name"), "{err}");
        // Multi-byte identifiers count in bytes.
        assert!(check_source_name(&format!("{}.java", "é".repeat(126))).is_err());
        assert!(check_source_name("../x.c").is_err());
        assert!(check_source_name(".hidden").is_err());
    }

    #[test]
    fn a_long_java_class_name_is_a_compile_error_before_anything_runs() {
        let languages = crate::language::Languages::embedded().unwrap();
        let java = languages.get("java").unwrap();
        let source = format!("public class {} {{ public static void main(String[] a) {{}} }}", "X".repeat(300));
        let files = [(java.source_name(&source), source.clone().into_bytes())];
        match build(java, &files, &source, 256) {
            Err(BuildFailure::Compile(info)) => {
                assert!(!info.ok);
                assert!(info.output.contains("shorter class name"), "{}", info.output);
            }
            other => panic!("expected a compile error, got {other:?}"),
        }
    }
}
