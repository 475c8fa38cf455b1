//! The acceptance test of the Judge0 API: Judge0's own Python client (PyPI
//! `judge0` 0.0.8) against `judge serve --token`, through
//! `tests/judge0/client_test.py`. The client lives in the virtualenv that
//! `.ci/run` makes (`/opt/judge-venv`, or `$JUDGE_JUDGE0_PYTHON`); the test
//! is skipped, saying so, when it is missing.

#[path = "judge0/fixture.rs"]
mod fixture;

#[path = "common/python_client.rs"]
mod python_client;

use std::time::Duration;

use fixture::Server;
use python_client::{run_checks, venv_python};

/// How long the whole client script may take.
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(400);
const TOKEN: &str = "judge0-client-s3cret";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_official_python_client_runs_submissions_and_reads_verdicts() {
    let probe = "import judge0; assert judge0.__version__ == '0.0.8', judge0.__version__";
    let Some(python) = venv_python("JUDGE_JUDGE0_PYTHON", probe) else {
        eprintln!(
            "SKIPPED: Judge0's Python client is not installed (no /opt/judge-venv/bin/python with judge0 0.0.8); \
             install it with: python3 -m venv /opt/judge-venv && /opt/judge-venv/bin/pip install judge0==0.0.8"
        );
        return;
    };
    let server = Server::start(&["--token", TOKEN, "--workers", "2"]).await;
    run_checks(python, "judge0/client_test.py", vec![server.base(), TOKEN.to_string()], SCRIPT_TIMEOUT, 40).await;
}
