//! The acceptance test of the Judge0 API: Judge0's own Python client (PyPI
//! `judge0` 0.0.8) against `judge serve --token`, through
//! `tests/judge0/client_test.py`. The client lives in the virtualenv that
//! `.ci/run` makes (`/opt/judge-venv`, or `$JUDGE_JUDGE0_PYTHON`); the test
//! is skipped, saying so, when it is missing.

#[path = "judge0/fixture.rs"]
mod fixture;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use fixture::Server;

/// How long the whole client script may take.
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(400);
const TOKEN: &str = "judge0-client-s3cret";

fn client_python() -> Option<PathBuf> {
    let python = std::env::var_os("JUDGE_JUDGE0_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/opt/judge-venv/bin/python"));
    let usable = python.is_file()
        && Command::new(&python)
            .args(["-c", "import judge0; assert judge0.__version__ == '0.0.8', judge0.__version__"])
            .output()
            .is_ok_and(|o| o.status.success());
    usable.then_some(python)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_official_python_client_runs_submissions_and_reads_verdicts() {
    let Some(python) = client_python() else {
        eprintln!(
            "SKIPPED: Judge0's Python client is not installed (no /opt/judge-venv/bin/python with judge0 0.0.8); \
             install it with: python3 -m venv /opt/judge-venv && /opt/judge-venv/bin/pip install judge0==0.0.8"
        );
        return;
    };
    let server = Server::start(&["--token", TOKEN, "--workers", "2"]).await;
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/judge0/client_test.py");
    let base = server.base();
    let run = tokio::task::spawn_blocking(move || {
        let mut child = Command::new(&python)
            .arg(&script)
            .arg(&base)
            .arg(TOKEN)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("starting the client script");
        // Both pipes read in threads, so a chatty script cannot block on a full pipe.
        let mut stdout = child.stdout.take().unwrap();
        let mut stderr = child.stderr.take().unwrap();
        let out = std::thread::spawn(move || std::io::read_to_string(&mut stdout).unwrap_or_default());
        let err = std::thread::spawn(move || std::io::read_to_string(&mut stderr).unwrap_or_default());
        let started = std::time::Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().expect("waiting for the client script") {
                break Some(status);
            }
            if started.elapsed() > SCRIPT_TIMEOUT {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        (status, out.join().unwrap(), err.join().unwrap())
    })
    .await
    .unwrap();
    let (status, stdout, stderr) = run;
    eprintln!("client script stdout:\n{stdout}\nclient script stderr:\n{stderr}");
    let status = status.unwrap_or_else(|| panic!("the client script ran over {SCRIPT_TIMEOUT:?}"));
    assert!(status.success(), "the client script failed ({status}):\n{stdout}\n{stderr}");
    assert!(stdout.contains("ALL CHECKS PASSED"), "{stdout}");
    // Every check printed its line: nothing was skipped silently.
    assert!(stdout.lines().filter(|l| l.starts_with("ok   ")).count() >= 40, "{stdout}");
}
