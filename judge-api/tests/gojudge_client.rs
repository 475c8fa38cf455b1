//! The acceptance test of the go-judge API: go-judge's own Python client
//! (PyPI `go-judge` 0.1.0, `RemoteSandbox` only) against `judge serve`,
//! through `tests/gojudge/client_test.py`. The client lives in a virtualenv
//! that `.ci/run` makes (`/opt/judge-venv`, or `$JUDGE_GOJUDGE_PYTHON`); the
//! test is skipped, saying so, when it is missing.

#[path = "gojudge/fixture.rs"]
mod fixture;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use fixture::Server;

/// How long the whole client script may take.
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(300);

fn client_python() -> Option<PathBuf> {
    let python = std::env::var_os("JUDGE_GOJUDGE_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/opt/judge-venv/bin/python"));
    let usable = python.is_file()
        && Command::new(&python)
            .args(["-c", "from go_judge import RemoteSandbox"])
            .output()
            .is_ok_and(|o| o.status.success());
    usable.then_some(python)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_official_python_client_compiles_runs_and_gets_verdicts() {
    let Some(python) = client_python() else {
        eprintln!(
            "SKIPPED: go-judge's Python client is not installed (no /opt/judge-venv/bin/python with go_judge); \
             install it with: python3 -m venv /opt/judge-venv && /opt/judge-venv/bin/pip install go-judge==0.1.0"
        );
        return;
    };
    let server = Server::start(&[]).await;
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/gojudge/client_test.py");
    let base = server.base();
    let run = tokio::task::spawn_blocking(move || {
        let mut child = Command::new(&python)
            .arg(&script)
            .arg(&base)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("starting the client script");
        // Reading both pipes in threads so a chatty script cannot block on a full pipe.
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
    assert!(stdout.lines().filter(|l| l.starts_with("ok   ")).count() >= 20, "{stdout}");
}
