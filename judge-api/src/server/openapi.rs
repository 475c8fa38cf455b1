//! `GET /openapi.json`: the OpenAPI 3.1 description of this server, generated
//! by `utoipa` from the engine's result types and the request types in
//! `submit.rs`, with this server's limits filled in at start. Integration
//! tests check that every path here answers and every route is here.

#![allow(dead_code)] // The body types below are described here, not built: routes.rs builds them.

use serde::Serialize;
use serde_json::{json, Value};
use utoipa::{OpenApi, ToSchema};

use engine::grade::GradeResult;

use super::submit::SubmitRequest;
use super::Config;

/// Every error answer: 4xx for the caller's mistakes, 5xx for the judge's.
#[derive(Serialize, ToSchema)]
#[schema(as = Error)]
struct ErrorBody {
    error: String,
    /// On a submission that could not be graded.
    id: Option<String>,
    status: Option<Done>,
    language: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
enum Done {
    Done,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
enum Waiting {
    Queued,
    Running,
}

/// `wait: false`: the submission is queued; poll `GET /submissions/{id}`.
#[derive(Serialize, ToSchema)]
struct Queued {
    id: String,
    /// Always `queued`.
    status: Waiting,
}

#[derive(Serialize, ToSchema)]
struct Progress {
    /// Tests finished.
    done: usize,
    total: usize,
}

/// A submission not graded yet.
#[derive(Serialize, ToSchema)]
struct Pending {
    id: String,
    status: Waiting,
    language: String,
    /// Only while running.
    progress: Option<Progress>,
}

/// A graded submission: the engine's result with its id.
#[derive(Serialize, ToSchema)]
struct Finished {
    id: String,
    status: Done,
    #[serde(flatten)]
    result: GradeResult,
}

#[derive(Serialize, ToSchema)]
#[serde(untagged)]
enum Submission {
    Finished(Finished),
    Pending(Pending),
}

#[derive(Serialize, ToSchema)]
struct Language {
    id: String,
    name: String,
    extensions: Vec<String>,
    /// False when the toolchain is missing here.
    available: bool,
}

#[derive(Serialize, ToSchema)]
struct Problem {
    name: String,
    /// Number of tests.
    tests: usize,
    /// Seconds of CPU time per test.
    time_limit: f64,
    /// MiB.
    memory: u64,
    /// MiB.
    output: Option<u64>,
    interactive: Option<bool>,
    scoring: Option<bool>,
    title: Option<String>,
    /// `legacy`, `2023-07-draft` or `polygon`.
    format: Option<String>,
    /// SHA-256 of the package's content: the version a submission is graded against.
    package: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
enum OkStatus {
    Ok,
}

#[derive(Serialize, ToSchema)]
struct Health {
    status: OkStatus,
    workers: Option<usize>,
    queue_depth: Option<i64>,
}

/// Grade a submission against a named problem or inline tests.
#[utoipa::path(post, path = "/submit", request_body = SubmitRequest,
params(("Idempotency-Key" = Option<String>, Header,
    description = "the same key within the retention time returns the same submission")),
responses(
    (status = 200, description = "wait: true: the finished submission", body = Finished),
    (status = 202, description = "wait: false: queued; poll GET /submissions/{id}", body = Queued,
        headers(("Location" = String, description = "/submissions/{id}"))),
    (status = 400, description = "the request is wrong; the message says how", body = ErrorBody),
    (status = 401, description = "missing or wrong bearer token (only with --token)", body = ErrorBody),
    (status = 413, description = "a size limit was exceeded; the message names it", body = ErrorBody),
    (status = 500, description = "the judge's fault", body = ErrorBody),
    (status = 503, description = "queue full or the store unreachable (Retry-After says when to try \
        again), shutting down, or the sandbox self-check failed", body = ErrorBody,
        headers(("Retry-After" = u64, description = "seconds"))),
))]
fn submit() {}

/// A submission: queued, running (with progress) or done.
#[utoipa::path(get, path = "/submissions/{id}", params(("id" = String, Path, description = "from POST /submit")),
responses(
    (status = 200, description = "the submission", body = Submission),
    (status = 400, description = "done, but the submission could not be graded by the caller's fault \
        (same body as POST /submit would have given, with id and status)", body = ErrorBody),
    (status = 401, description = "missing or wrong bearer token (only with --token)", body = ErrorBody),
    (status = 404, description = "unknown id, or the result expired", body = ErrorBody),
    (status = 500, description = "the judge's fault", body = ErrorBody),
))]
fn submission() {}

/// Languages this server knows.
#[utoipa::path(get, path = "/languages", responses(
    (status = 200, description = "languages", body = Vec<Language>),
    (status = 401, description = "missing or wrong bearer token (only with --token)", body = ErrorBody),
))]
fn languages() {}

/// Problem packages: loaded from --problems at start, or uploaded.
#[utoipa::path(get, path = "/problems", responses(
    (status = 200, description = "problems", body = Vec<Problem>),
    (status = 401, description = "missing or wrong bearer token (only with --token)", body = ErrorBody),
    (status = 503, description = "the store is unreachable", body = ErrorBody),
))]
fn problems() {}

/// One problem package.
#[utoipa::path(get, path = "/problems/{name}", params(("name" = String, Path)), responses(
    (status = 200, description = "the problem", body = Problem),
    (status = 401, description = "missing or wrong bearer token (only with --token)", body = ErrorBody),
    (status = 404, description = "no such problem", body = ErrorBody),
    (status = 503, description = "the store is unreachable", body = ErrorBody),
))]
fn problem() {}

/// Upload or replace a package (zip or tar.gz), checked as at start.
#[utoipa::path(put, path = "/problems/{name}", params(("name" = String, Path)),
request_body(content = Vec<u8>, content_type = "application/zip"),
responses(
    (status = 200, description = "replaced", body = Problem),
    (status = 201, description = "created", body = Problem),
    (status = 400, description = "a broken package or archive; the message names the file and key", body = ErrorBody),
    (status = 401, description = "missing or wrong bearer token (only with --token)", body = ErrorBody),
    (status = 413, description = "the archive is over --max-package-mib", body = ErrorBody),
    (status = 503, description = "the store is unreachable", body = ErrorBody),
))]
fn put_problem() {}

/// Remove a problem (submissions already accepted still grade against their version).
#[utoipa::path(delete, path = "/problems/{name}", params(("name" = String, Path)), responses(
    (status = 204, description = "deleted"),
    (status = 401, description = "missing or wrong bearer token (only with --token)", body = ErrorBody),
    (status = 404, description = "no such problem", body = ErrorBody),
    (status = 503, description = "the store is unreachable", body = ErrorBody),
))]
fn delete_problem() {}

/// 200 once the sandbox self-check at start has passed; never needs a token.
#[utoipa::path(get, path = "/healthz", responses(
    (status = 200, description = "healthy", body = Health),
    (status = 503, description = "self-check pending or failed", body = ErrorBody),
))]
fn healthz() {}

/// Prometheus text format.
#[utoipa::path(get, path = "/metrics", responses(
    (status = 200, description = "metrics", body = String, content_type = "text/plain"),
    (status = 401, description = "missing or wrong bearer token (only with --token)", body = ErrorBody),
))]
fn metrics() {}

/// This document.
#[utoipa::path(get, path = "/openapi.json", responses(
    (status = 200, description = "OpenAPI 3.1", body = Object),
    (status = 401, description = "missing or wrong bearer token (only with --token)", body = ErrorBody),
))]
fn openapi_json() {}

#[derive(OpenApi)]
#[openapi(
    info(title = "judge"),
    paths(
        submit,
        submission,
        languages,
        problems,
        problem,
        put_problem,
        delete_problem,
        healthz,
        metrics,
        openapi_json
    ),
    components(schemas(ErrorBody, SubmitRequest, Queued, Pending, Finished, Language, Problem, Health))
)]
struct Document;

/// The document with this server's limits and auth filled in.
pub fn document(config: &Config) -> Value {
    let api = Document::openapi().nest("/go-judge", crate::gojudge::openapi::document());
    let mut doc = serde_json::to_value(api).unwrap_or_else(|e| json!({ "error": e.to_string() }));
    doc["info"]["description"] = json!(format!(
        "Online-judge code execution. {} workers, queue of {}; results kept {} s. \
         Every error is JSON {{\"error\": \"...\"}}: 4xx for the caller's mistakes, 5xx for the judge's.",
        config.workers,
        config.queue,
        config.retention.as_secs()
    ));
    doc["paths"]["/submit"]["post"]["responses"]["413"]["description"] = json!(format!(
        "request body over {} bytes (--max-body-mib), source over {} bytes (--max-source-kib), \
         or more than {} tests (--max-tests); the message names the limit",
        config.max_body_bytes, config.max_source_bytes, config.max_tests
    ));
    fill_in_limits(&mut doc["components"]["schemas"], config);
    doc["components"]["securitySchemes"] = json!({ "bearer": { "type": "http", "scheme": "bearer" } });
    doc["paths"]["/healthz"]["get"]["security"] = json!([]);
    if config.auth {
        doc["security"] = json!([{ "bearer": [] }]);
    }
    crate::judge0::openapi::merge(&mut doc);
    doc
}

/// Bounds that come from flags, and what the derive cannot say about
/// free-form fields.
fn fill_in_limits(schemas: &mut Value, config: &Config) {
    let request = &mut schemas["SubmitRequest"];
    request["description"] = json!("Exactly one of problem and tests.");
    let properties = &mut request["properties"];
    properties["language"]["description"] = json!("a language id from GET /languages");
    properties["problem"]["description"] = json!("a name from GET /problems");
    properties["source"]["maxLength"] = json!(config.max_source_bytes);
    properties["source"]["description"] = json!(format!("at most {} bytes", config.max_source_bytes));
    properties["tests"]["minItems"] = json!(1);
    properties["tests"]["maxItems"] = json!(config.max_tests);
    properties["wait"]["default"] = json!(true);
    properties["run_all"]["default"] = json!(false);
    properties["run_all"]["description"] = json!("run every test even after one fails");
    properties["validator"] = json!({
        "description": "default output validator flags, inline tests only",
        "oneOf": [
            { "type": "object", "additionalProperties": false, "properties": {
                "case_sensitive": { "type": "boolean" },
                "space_change_sensitive": { "type": "boolean" },
                "float_tolerance": { "type": "number", "minimum": 0 },
                "float_relative_tolerance": { "type": "number", "minimum": 0 },
                "float_absolute_tolerance": { "type": "number", "minimum": 0 } } },
            { "type": "array", "items": { "type": "string" },
              "description": "problem.yaml style, e.g. [\"float_tolerance\", \"1e-6\"]" },
            { "type": "null" }
        ]
    });
    properties["checker"]["description"] = json!(
        "a checker for inline tests, given as source, instead of the default validator; \
         one that does not compile answers 422"
    );
    let checker = &mut schemas["InlineChecker"]["properties"];
    checker["language"]["enum"] = json!(engine::grade::VALIDATOR_LANGUAGES);
    checker["source"]["maxLength"] = json!(config.max_source_bytes);
    let limits = &mut schemas["InlineLimits"]["properties"];
    limits["time_limit"]["exclusiveMinimum"] = json!(0);
    limits["time_limit"]["maximum"] = json!(config.max_time_limit);
    limits["time_limit"]["default"] = json!(super::DEFAULT_TIME_LIMIT);
    limits["memory"]["minimum"] = json!(1);
    limits["memory"]["maximum"] = json!(config.max_memory_mib);
    limits["memory"]["default"] = json!(super::DEFAULT_MEMORY_MIB);
    limits["output"]["minimum"] = json!(1);
    limits["output"]["maximum"] = json!(config.max_output_mib);
    limits["output"]["default"] = json!(super::DEFAULT_OUTPUT_MIB);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fields of the result object the API promises (README.md, "Use it from a frontend").
    #[test]
    fn grade_result_schema_has_the_contract_fields() {
        let doc = serde_json::to_value(Document::openapi()).unwrap();
        let schemas = &doc["components"]["schemas"];
        let fields = |name: &str| -> Vec<String> {
            let properties = schemas[name]["properties"].as_object().unwrap_or_else(|| panic!("no schema {name}"));
            let mut keys: Vec<String> = properties.keys().cloned().collect();
            keys.sort();
            keys
        };
        let required = |name: &str| -> Vec<String> {
            serde_json::from_value(schemas[name]["required"].clone()).unwrap_or_default()
        };
        let result = ["language", "verdict", "score", "time_ms", "memory_kb", "compile", "tests"];
        let mut sorted = result;
        sorted.sort();
        assert_eq!(fields("GradeResult"), sorted);
        assert_eq!(required("GradeResult"), result);
        let test = ["name", "verdict", "time_ms", "wall_ms", "memory_kb", "exit_code", "signal"];
        assert_eq!(required("TestResult"), test);
        assert!(fields("TestResult").contains(&"feedback".to_string()));
        assert_eq!(required("CompileInfo"), ["ok", "output", "time_ms"]);
        let verdicts: Vec<String> = serde_json::from_value(schemas["Verdict"]["enum"].clone()).unwrap();
        assert_eq!(verdicts, ["AC", "WA", "TLE", "MLE", "OLE", "RE", "CE", "IE"]);
    }
}
