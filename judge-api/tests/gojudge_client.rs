//! The acceptance test of the go-judge API: go-judge's own Python client
//! (PyPI `go-judge` 0.1.0, `RemoteSandbox` only) against `judge serve`,
//! through `tests/gojudge/client_test.py`. The client lives in a virtualenv
//! that `.ci/run` makes (`/opt/judge-venv`, or `$JUDGE_GOJUDGE_PYTHON`); the
//! test is skipped, saying so, when it is missing.

#[path = "gojudge/fixture.rs"]
mod fixture;

#[path = "common/python_client.rs"]
mod python_client;

use std::time::Duration;

use fixture::Server;
use python_client::{run_checks, venv_python};

/// How long the whole client script may take.
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(300);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_official_python_client_compiles_runs_and_gets_verdicts() {
    let Some(python) = venv_python("JUDGE_GOJUDGE_PYTHON", "from go_judge import RemoteSandbox") else {
        eprintln!(
            "SKIPPED: go-judge's Python client is not installed (no /opt/judge-venv/bin/python with go_judge); \
             install it with: python3 -m venv /opt/judge-venv && /opt/judge-venv/bin/pip install go-judge==0.1.0"
        );
        return;
    };
    let server = Server::start(&[]).await;
    run_checks(python, "gojudge/client_test.py", vec![server.base()], SCRIPT_TIMEOUT, 20).await;
}
