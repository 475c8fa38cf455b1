//! Runs an API's own Python client (from the virtualenv `.ci/run` makes)
//! through a check script against a test server, for the client
//! acceptance tests (`gojudge_client.rs`, `judge0_client.rs`). Included
//! with `#[path = "common/python_client.rs"] mod python_client;`.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// The Python of `$env_var` (or `/opt/judge-venv/bin/python`) if it exists
/// and `probe` (a `python -c` snippet, e.g. an import) succeeds there.
pub fn venv_python(env_var: &str, probe: &str) -> Option<PathBuf> {
    let python =
        std::env::var_os(env_var).map(PathBuf::from).unwrap_or_else(|| PathBuf::from("/opt/judge-venv/bin/python"));
    let usable =
        python.is_file() && Command::new(&python).args(["-c", probe]).output().is_ok_and(|o| o.status.success());
    usable.then_some(python)
}

/// Runs `python tests/SCRIPT ARGS...` (off the async runtime), killed after
/// `timeout`, and asserts it passed: exit 0, `ALL CHECKS PASSED`, and at
/// least `min_checks` lines starting `ok   ` (none skipped silently).
pub async fn run_checks(python: PathBuf, script: &str, args: Vec<String>, timeout: Duration, min_checks: usize) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join(script);
    let (status, stdout, stderr) =
        tokio::task::spawn_blocking(move || run(&python, &script, &args, timeout)).await.unwrap();
    eprintln!("client script stdout:\n{stdout}\nclient script stderr:\n{stderr}");
    let status = status.unwrap_or_else(|| panic!("the client script ran over {timeout:?}"));
    assert!(status.success(), "the client script failed ({status}):\n{stdout}\n{stderr}");
    assert!(stdout.contains("ALL CHECKS PASSED"), "{stdout}");
    let checks = stdout.lines().filter(|l| l.starts_with("ok   ")).count();
    assert!(checks >= min_checks, "{checks} checks passed, expected at least {min_checks}:\n{stdout}");
}

/// The exit status (`None` if it ran over `timeout` and was killed), stdout and stderr.
fn run(python: &Path, script: &Path, args: &[String], timeout: Duration) -> (Option<ExitStatus>, String, String) {
    let mut child = Command::new(python)
        .arg(script)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting the client script");
    // Both pipes read in threads, so a chatty script cannot block on a full pipe.
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || std::io::read_to_string(&mut stdout).unwrap_or_default());
    let err = std::thread::spawn(move || std::io::read_to_string(&mut stderr).unwrap_or_default());
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("waiting for the client script") {
            break Some(status);
        }
        if started.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    (status, out.join().unwrap(), err.join().unwrap())
}
