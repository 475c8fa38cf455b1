//! Toolchains a language finds where the distribution puts them or on the
//! judge's PATH (e.g. a `rustc` from rustup). Commands name such a tool as
//! `{tool:NAME}`; when it is found on PATH, its toolchain directory is bound
//! read-only into the sandbox at the same place, and a launcher there (a
//! rustup proxy, which needs `~/.rustup`) is replaced by the real binary.

use std::ffi::OsStr;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::Deserialize;

/// How long a tool may take to name its toolchain directory.
const ROOT_TIMEOUT: Duration = Duration::from_secs(20);

/// One `[tools.NAME]` table of a language file.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tool {
    /// Where the distribution installs it (absolute), tried first.
    #[serde(default)]
    pub path: Option<PathBuf>,
    /// Else the judge's PATH is searched for the tool's name.
    #[serde(default)]
    pub search_path: bool,
    /// Arguments that make the tool found on PATH print its toolchain
    /// directory (rustc: `--print sysroot`), bound read-only. Without them, the
    /// directory of the binary (symbolic links followed) is bound.
    #[serde(default)]
    pub root: Option<Vec<String>>,
    /// The real binary within the toolchain directory (rustc: `bin/rustc`), run
    /// instead of what PATH found (which may be a launcher).
    #[serde(default)]
    pub binary: Option<PathBuf>,
}

/// Where a tool was found: the program to run and the directory to bind
/// (none for the distribution's path, which the language's binds cover).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Found {
    pub program: PathBuf,
    pub bind: Option<PathBuf>,
}

impl Tool {
    /// Refuses tables that cannot find anything.
    pub fn check(&self, name: &str) -> Result<(), String> {
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || "-_.+".contains(c)) {
            return Err(format!("tools.{name}: a tool name is letters, digits and - _ . +"));
        }
        if self.path.as_ref().is_some_and(|p| !p.is_absolute()) {
            return Err(format!("tools.{name}.path: must be absolute"));
        }
        if self.path.is_none() && !self.search_path {
            return Err(format!("tools.{name}: give a path, search_path = true, or both"));
        }
        if self.binary.as_ref().is_some_and(|b| b.is_absolute() || b.components().any(|c| c.as_os_str() == "..")) {
            return Err(format!("tools.{name}.binary: must be a path inside the toolchain directory"));
        }
        if self.binary.is_some() && self.root.is_none() {
            return Err(format!("tools.{name}.binary: needs root (the command that names the directory)"));
        }
        Ok(())
    }

    /// Finds the tool: at its path, else on `search` (a PATH value). The error
    /// says why it cannot run here.
    pub fn find(&self, name: &str, search: Option<&OsStr>) -> Result<Found, String> {
        if let Some(path) = self.path.as_ref().filter(|p| is_executable(p)) {
            return Ok(Found { program: path.clone(), bind: None });
        }
        let nowhere = || match &self.path {
            Some(path) if self.search_path => {
                format!("{name} is not installed (not at {}, not on PATH)", path.display())
            }
            Some(path) => format!("{} is not installed", path.display()),
            None => format!("{name} is not installed (not on PATH)"),
        };
        if !self.search_path {
            return Err(nowhere());
        }
        let on_path = search
            .into_iter()
            .flat_map(std::env::split_paths)
            .filter(|dir| dir.is_absolute())
            .map(|dir| dir.join(name))
            .find(|candidate| is_executable(candidate))
            .ok_or_else(nowhere)?;
        let Some(root_args) = &self.root else {
            let real = on_path.canonicalize().map_err(|e| format!("{}: {e}", on_path.display()))?;
            let dir = real.parent().map(Path::to_path_buf).unwrap_or_default();
            return Ok(Found { program: real, bind: Some(bindable(name, dir)?) });
        };
        let printed = output_of(&on_path, root_args)?;
        let root = PathBuf::from(printed.trim());
        if !root.is_absolute() {
            return Err(format!(
                "{name}: {} {} printed {printed:?}, not an absolute directory",
                on_path.display(),
                root_args.join(" ")
            ));
        }
        let root = root.canonicalize().map_err(|e| format!("{name}: toolchain directory {}: {e}", root.display()))?;
        let root = bindable(name, root)?;
        let program = match &self.binary {
            Some(binary) => root.join(binary),
            None => on_path.canonicalize().map_err(|e| format!("{}: {e}", on_path.display()))?,
        };
        if !is_executable(&program) {
            return Err(format!("{name}: {} is not an executable file", program.display()));
        }
        Ok(Found { program, bind: Some(root) })
    }
}

/// A toolchain directory the sandbox may show: never the whole file system.
fn bindable(name: &str, dir: PathBuf) -> Result<PathBuf, String> {
    if dir.parent().is_none() {
        return Err(format!("{name}: its toolchain directory would be {}, which is not bound", dir.display()));
    }
    Ok(dir)
}

fn is_executable(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// What `program args` prints on stdout, run on the host (it is the judge's
/// own toolchain, not a submission) with a time limit.
fn output_of(program: &Path, args: &[String]) -> Result<String, String> {
    let what = || format!("{} {}", program.display(), args.join(" "));
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("{}: {e}", what()))?;
    let mut stdout = child.stdout.take().expect("stdout is piped");
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        stdout.by_ref().take(64 * 1024).read_to_string(&mut text).map(|_| text)
    });
    let deadline = Instant::now() + ROOT_TIMEOUT;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("{}: no answer within {} s", what(), ROOT_TIMEOUT.as_secs()));
            }
            Err(e) => return Err(format!("{}: {e}", what())),
        }
    };
    let text = reader.join().map_err(|_| format!("{}: reading its output failed", what()))?;
    let text = text.map_err(|e| format!("{}: {e}", what()))?;
    if !status.success() {
        return Err(format!("{}: {status}", what()));
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    }

    #[test]
    fn the_distribution_path_comes_first_then_path_then_a_reason() {
        let tool = Tool { path: Some("/bin/sh".into()), search_path: true, ..Tool::default() };
        assert_eq!(tool.find("sh", None).unwrap(), Found { program: "/bin/sh".into(), bind: None });
        let dir = tempfile::tempdir().unwrap();
        let real = script(dir.path(), "mytool", "exit 0");
        let tool = Tool { path: Some("/nonexistent/mytool".into()), search_path: true, ..Tool::default() };
        let search = std::env::join_paths(["/nonexistent-dir", dir.path().to_str().unwrap()]).unwrap();
        let found = tool.find("mytool", Some(&search)).unwrap();
        let canonical = real.canonicalize().unwrap();
        assert_eq!(found, Found { program: canonical.clone(), bind: Some(canonical.parent().unwrap().into()) });
        let err = tool.find("othertool", Some(&search)).unwrap_err();
        assert_eq!(err, "othertool is not installed (not at /nonexistent/mytool, not on PATH)");
        let fixed = Tool { search_path: false, ..tool };
        assert_eq!(fixed.find("mytool", Some(&search)).unwrap_err(), "/nonexistent/mytool is not installed");
    }

    #[test]
    fn a_launcher_on_path_is_replaced_by_the_binary_in_the_directory_it_names() {
        let toolchain = tempfile::tempdir().unwrap();
        std::fs::create_dir(toolchain.path().join("bin")).unwrap();
        let real = script(&toolchain.path().join("bin"), "mytool", "exit 0");
        let launchers = tempfile::tempdir().unwrap();
        let root = toolchain.path().to_str().unwrap();
        script(launchers.path(), "mytool", &format!("[ \"$1\" = --root ] && echo '{root}'"));
        let tool = Tool {
            search_path: true,
            root: Some(vec!["--root".into()]),
            binary: Some("bin/mytool".into()),
            ..Tool::default()
        };
        let found = tool.find("mytool", Some(launchers.path().as_os_str())).unwrap();
        let root = toolchain.path().canonicalize().unwrap();
        assert_eq!(found, Found { program: root.join("bin/mytool"), bind: Some(root) });
        assert!(real.exists());
        // A launcher that names no directory, or one without the binary, is a reason.
        script(launchers.path(), "mytool", "echo relative/dir");
        assert!(tool.find("mytool", Some(launchers.path().as_os_str())).unwrap_err().contains("not an absolute"));
        script(launchers.path(), "mytool", "echo /");
        assert!(tool.find("mytool", Some(launchers.path().as_os_str())).unwrap_err().contains("not bound"));
        script(launchers.path(), "mytool", "exit 3");
        assert!(tool.find("mytool", Some(launchers.path().as_os_str())).unwrap_err().contains("exit status: 3"));
    }

    #[test]
    fn tables_that_cannot_find_anything_are_refused() {
        assert!(Tool::default().check("x").unwrap_err().contains("give a path"));
        let relative = Tool { path: Some("bin/x".into()), ..Tool::default() };
        assert!(relative.check("x").unwrap_err().contains("absolute"));
        let escape = Tool { search_path: true, root: Some(vec![]), binary: Some("../x".into()), ..Tool::default() };
        assert!(escape.check("x").unwrap_err().contains("inside the toolchain"));
        assert!(Tool { search_path: true, ..Tool::default() }.check("a/b").is_err());
    }
}
