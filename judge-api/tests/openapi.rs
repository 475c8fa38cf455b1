//! `GET /openapi.json` is a valid OpenAPI 3.1 document, as an independent
//! checker sees it: `openapi-spec-validator` (PyPI 0.9.0) from the virtualenv
//! `.ci/run` makes (`/opt/judge-venv`, or `$JUDGE_OPENAPI_VALIDATOR`). The
//! test is skipped, saying so, when the validator is missing. That the
//! document lists exactly the served routes is checked in `server.rs`.

#[path = "server/fixture.rs"]
mod fixture;

use std::path::{Path, PathBuf};
use std::process::Command;

use fixture::{temp_dir, Server};
use reqwest::StatusCode;
use serde_json::Value;

fn validator() -> Option<PathBuf> {
    let path = std::env::var_os("JUDGE_OPENAPI_VALIDATOR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/opt/judge-venv/bin/openapi-spec-validator"));
    path.is_file().then_some(path)
}

/// The validator's verdict on `doc`: Ok, or its complaint.
fn validate(validator: &Path, doc: &Value, dir: &Path, name: &str) -> Result<(), String> {
    let file = dir.join(name);
    std::fs::write(&file, serde_json::to_vec_pretty(doc).unwrap()).unwrap();
    let output = Command::new(validator).arg(&file).output().expect("running openapi-spec-validator");
    let said = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    if output.status.success() && said.contains(": OK") {
        Ok(())
    } else {
        Err(said)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_served_document_is_valid_openapi() {
    let Some(validator) = validator() else {
        eprintln!(
            "SKIPPED: openapi-spec-validator is not installed (no /opt/judge-venv/bin/openapi-spec-validator); \
             install it with: /opt/judge-venv/bin/pip install openapi-spec-validator==0.9.0"
        );
        return;
    };
    let dir = temp_dir("openapi");
    // With a token the document also carries its security scheme.
    for args in [&[][..], &["--token", "t0ken"][..]] {
        let server = Server::start(args).await;
        let doc = server.get("/openapi.json").await;
        assert_eq!(doc.status, StatusCode::OK);
        if let Err(complaint) = validate(&validator, &doc.json, dir.path(), "served.json") {
            panic!("GET /openapi.json ({args:?}) is not valid OpenAPI:\n{complaint}");
        }
        // The checker does check: the same document without its `info` is refused.
        let mut broken = doc.json.clone();
        broken.as_object_mut().unwrap().remove("info");
        assert!(validate(&validator, &broken, dir.path(), "broken.json").is_err(), "a document without info passed");
    }
}
