//! The go-judge API's part of `GET /openapi.json`: its routes (relative to
//! the `/go-judge` prefix, which `server/openapi.rs` adds when it nests this
//! document) and their bodies. The body types here only describe `model.rs`
//! and `handlers.rs`; the tests below fail when the two drift apart.

#![allow(dead_code)] // Described here, never built: model.rs and handlers.rs build the real ones.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::Serialize;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::RefOr;
use utoipa::{OpenApi, ToSchema};

use super::model;

/// `POST /run`: the commands of one run; they start together, so pipes can join them.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = GoJudgeRunRequest)]
struct RunRequest {
    #[schema(min_items = 1, max_items = 16)]
    cmd: Vec<Cmd>,
    /// Pipes from one command's stdout or stderr to another's stdin.
    #[serde(default)]
    pipe_mapping: Vec<PipeMap>,
}

/// One program. Times are nanoseconds and sizes bytes; 0 (or absent) means
/// this judge's default. Fields go-judge has and this judge refuses (`tty`,
/// `cpuRateLimit`, `cpuSetLimit`, `copyOutDir`, `src` files, streams) answer 400 naming them.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = GoJudgeCmd)]
struct Cmd {
    /// The program and its arguments; `args[0]` is looked up on `PATH`.
    #[schema(min_items = 1, max_items = 4096)]
    args: Vec<String>,
    /// `KEY=value` entries; the environment is otherwise empty.
    #[schema(max_items = 4096)]
    #[serde(default)]
    env: Vec<String>,
    /// fd 0, 1 and 2: stdin `{content}` or `{fileId}`; stdout and stderr
    /// `{name, max}` (collected into `files[name]`); `null` for no file or a pipe's end.
    #[schema(max_items = 3)]
    #[serde(default)]
    files: Vec<Option<File>>,
    /// Refused: programs get pipes or files, not terminals.
    #[serde(default)]
    tty: bool,
    /// CPU time (user + system, all processes), ns; default 10 s, at least 1 ms.
    #[schema(maximum = 300_000_000_000_u64)]
    #[serde(default)]
    cpu_limit: u64,
    /// Stands in for `clockLimit` when set, as in go-judge, ns.
    #[schema(maximum = 900_000_000_000_u64)]
    #[serde(default)]
    real_cpu_limit: u64,
    /// Wall time, ns; default 3 × the CPU limit + 1 s.
    #[schema(maximum = 900_000_000_000_u64)]
    #[serde(default)]
    clock_limit: u64,
    /// Peak resident memory, bytes; default 256 MiB, at least 1 MiB.
    #[schema(maximum = 17_179_869_184_u64)]
    #[serde(default)]
    memory_limit: u64,
    /// Checked (4096 bytes to 16 GiB), not applied: stack pages count as memory.
    #[schema(maximum = 17_179_869_184_u64)]
    #[serde(default)]
    stack_limit: u64,
    /// Processes and threads; default 64.
    #[schema(maximum = 4096)]
    #[serde(default)]
    proc_limit: u64,
    /// Refused: this judge does not use cgroups.
    #[serde(default)]
    cpu_rate_limit: u64,
    /// Refused: this judge does not use cgroups.
    #[serde(default)]
    cpu_set_limit: String,
    /// Also cap the address space at `memoryLimit`, so an allocation past it fails.
    #[serde(default)]
    strict_memory_limit: bool,
    /// As `strictMemoryLimit`.
    #[serde(default)]
    data_segment_limit: bool,
    /// As `strictMemoryLimit`.
    #[serde(default)]
    address_space_limit: bool,
    /// Files put in the work dir before the run, by relative path:
    /// `{content}`, `{fileId}` or `{symlink}`.
    #[serde(default)]
    copy_in: BTreeMap<String, File>,
    /// Work-dir files returned in the result's `files`; a trailing `?` makes one optional.
    #[serde(default)]
    copy_out: Vec<String>,
    /// As `copyOut`, but kept in the file cache; the result's `fileIds` names them.
    #[serde(default)]
    copy_out_cached: Vec<String>,
    /// Bytes each `copyOut` file may reach; default 64 MiB.
    #[schema(maximum = 268_435_456_u64)]
    #[serde(default)]
    copy_out_max: u64,
    /// Refused: the judge writes no host directory on a client's say-so.
    #[serde(default)]
    copy_out_dir: String,
}

/// A file in one of go-judge's shapes: `{content}` (text), `{fileId}` (from
/// `POST /file` or `copyOutCached`), `{name, max}` (a collected output),
/// `{symlink}` (`copyIn` only). `{src}` (a host path), `{streamIn}` and
/// `{streamOut}` are refused.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = GoJudgeFile)]
struct File {
    content: Option<String>,
    file_id: Option<String>,
    name: Option<String>,
    /// Bytes the output may reach; default 64 MiB; past it, `Output Limit Exceeded`.
    #[schema(maximum = 268_435_456_u64)]
    max: Option<u64>,
    /// The symlink's target.
    symlink: Option<String>,
    /// Refused.
    src: Option<String>,
    /// Refused (no WebSocket API).
    #[schema(value_type = Option<bool>)]
    stream_in: Option<serde_json::Value>,
    /// Refused (no WebSocket API).
    #[schema(value_type = Option<bool>)]
    stream_out: Option<serde_json::Value>,
}

/// A pipe from `in.index`'s fd `in.fd` (1 or 2) to `out.index`'s stdin
/// (`out.fd` 0); those `files` entries must be `null`.
#[derive(Serialize, ToSchema)]
#[schema(as = GoJudgePipeMap)]
struct PipeMap {
    #[serde(rename = "in")]
    input: PipeEnd,
    #[serde(rename = "out")]
    output: PipeEnd,
    /// Relay through the judge and return up to `max` bytes of the traffic as `files[name]`.
    #[serde(default)]
    proxy: bool,
    #[serde(default)]
    name: String,
    #[schema(maximum = 268_435_456_u64)]
    #[serde(default)]
    max: u64,
}

#[derive(Serialize, ToSchema)]
#[schema(as = GoJudgePipeEnd)]
struct PipeEnd {
    /// Index into `cmd`.
    index: usize,
    fd: usize,
}

/// The schema of a string enum: the names model.rs writes for `all`, so
/// the two cannot spell a status differently.
fn names_of<T: Serialize>(all: &[T]) -> RefOr<Schema> {
    let names = all.iter().map(|value| serde_json::to_value(value).unwrap_or_default());
    ObjectBuilder::new().schema_type(Type::String).enum_values(Some(names)).into()
}

/// go-judge's status strings.
#[derive(Serialize)]
struct Status;

impl utoipa::PartialSchema for Status {
    fn schema() -> RefOr<Schema> {
        use model::Status as S;
        names_of(&[
            S::Accepted,
            S::MemoryLimitExceeded,
            S::TimeLimitExceeded,
            S::OutputLimitExceeded,
            S::FileError,
            S::NonzeroExit,
            S::Signalled,
            S::InternalError,
        ])
    }
}

impl ToSchema for Status {
    fn name() -> Cow<'static, str> {
        "GoJudgeStatus".into()
    }
}

/// One command's result, in the order of `cmd`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = GoJudgeResult)]
struct CmdResult {
    status: Status,
    /// Why, when the command did not run or a file failed.
    #[serde(default)]
    error: String,
    /// Exit code, or the signal number when `Signalled`.
    exit_status: i32,
    /// CPU time, ns.
    time: u64,
    /// Peak resident memory, bytes.
    memory: u64,
    /// Wall time, ns.
    run_time: u64,
    /// Collected outputs and `copyOut` files, by name, as text.
    files: BTreeMap<String, String>,
    /// `copyOutCached` files: name → id for `GET /file/{id}` or `{fileId}`.
    #[serde(default)]
    file_ids: BTreeMap<String, String>,
    #[serde(default)]
    file_error: Vec<FileError>,
}

#[derive(Serialize, ToSchema)]
#[schema(as = GoJudgeFileError)]
struct FileError {
    name: String,
    #[serde(rename = "type")]
    kind: FileErrorKind,
    #[serde(default)]
    message: String,
}

/// go-judge's names for what went wrong with a file.
#[derive(Serialize)]
struct FileErrorKind;

impl utoipa::PartialSchema for FileErrorKind {
    fn schema() -> RefOr<Schema> {
        use model::FileErrorKind as K;
        names_of(&[
            K::CopyInOpenFile,
            K::CopyInCreateFile,
            K::CopyInSymlink,
            K::CopyOutOpen,
            K::CopyOutNotRegularFile,
            K::CopyOutSizeExceeded,
            K::CopyOutCreateFile,
            K::CollectSizeExceeded,
        ])
    }
}

impl ToSchema for FileErrorKind {
    fn name() -> Cow<'static, str> {
        "GoJudgeFileErrorType".into()
    }
}

/// Every error answer of the go-judge API.
#[derive(Serialize, ToSchema)]
#[schema(as = GoJudgeError)]
struct ErrorBody {
    error: String,
}

/// JSON `null`, the body of a successful `DELETE /file/{id}`.
struct Null;

impl utoipa::PartialSchema for Null {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new().schema_type(Type::Null).into()
    }
}

impl ToSchema for Null {}

/// `POST /file`: a multipart form.
#[derive(Serialize, ToSchema)]
#[schema(as = GoJudgeUpload)]
struct Upload {
    /// The file; its name is kept for `GET /file`.
    #[schema(value_type = String, content_media_type = "application/octet-stream")]
    file: Vec<u8>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = GoJudgeVersion)]
struct Version {
    build_version: String,
    go_version: String,
    platform: String,
    os: String,
    copy_out_optional: bool,
    pipe_proxy: bool,
    symlink: bool,
    file_store_path: String,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = GoJudgeConfig)]
struct Config {
    copy_out_optional: bool,
    pipe_proxy: bool,
    symlink: bool,
    file_store_path: String,
    runner_config: RunnerConfig,
}

/// The settings that shape runs: default and largest output, commands per
/// request, runs at once, the file cache's size and time to live.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = GoJudgeRunnerConfig)]
struct RunnerConfig {
    time_limit_checker_interval: u64,
    output_limit: u64,
    copy_out_limit: u64,
    open_file_limit: u64,
    extra_memory_limit: u64,
    cpuset: String,
    enable_cpu_rate: bool,
    max_cmds: usize,
    parallel_runs: usize,
    max_waiting_runs: usize,
    file_cache_bytes: u64,
    file_cache_used_bytes: u64,
    file_ttl_seconds: u64,
}

/// Run commands in sandboxes and wait for their results.
#[utoipa::path(post, path = "/run", tag = "go-judge", request_body = RunRequest, responses(
    (status = 200, description = "one result per command, in order", body = Vec<CmdResult>),
    (status = 400, description = "the request is wrong or asks for something this judge refuses; \
        the message names the field (cmd[0].cpuLimit: …)", body = ErrorBody),
    (status = 401, description = "missing or wrong bearer token (only with --token)", body = ErrorBody),
    (status = 413, description = "the request body is over --max-body-mib", body = ErrorBody),
    (status = 500, description = "the judge's fault", body = ErrorBody),
    (status = 503, description = "too many runs already wait for a sandbox", body = ErrorBody,
        headers(("Retry-After" = u64, description = "seconds"))),
))]
fn run() {}

/// Every cached file: id → name.
#[utoipa::path(get, path = "/file", tag = "go-judge", responses(
    (status = 200, description = "the cached files", body = BTreeMap<String, String>),
    (status = 401, description = "missing or wrong bearer token (only with --token)", body = ErrorBody),
))]
fn list_files() {}

/// Put a file in the cache (evicted least recently used first when full, or
/// after --file-ttl-secs unused); answers its id.
#[utoipa::path(post, path = "/file", tag = "go-judge",
request_body(content = Upload, content_type = "multipart/form-data"),
responses(
    (status = 200, description = "the new file's id", body = String, content_type = "application/json"),
    (status = 400, description = "not a multipart form with a `file` field", body = ErrorBody),
    (status = 401, description = "missing or wrong bearer token (only with --token)", body = ErrorBody),
    (status = 413, description = "over --max-body-mib or larger than the whole cache (--file-cache-mib)",
        body = ErrorBody),
))]
fn upload_file() {}

/// A cached file's bytes.
#[utoipa::path(get, path = "/file/{id}", tag = "go-judge", params(("id" = String, Path)), responses(
    (status = 200, description = "the file", body = Vec<u8>, content_type = "application/octet-stream",
        headers(("Content-Disposition" = String, description = "attachment; filename=\"…\""))),
    (status = 401, description = "missing or wrong bearer token (only with --token)", body = ErrorBody),
    (status = 404, description = "unknown, deleted, expired or evicted", body = ErrorBody),
))]
fn download_file() {}

/// Remove a cached file.
#[utoipa::path(delete, path = "/file/{id}", tag = "go-judge", params(("id" = String, Path)), responses(
    (status = 200, description = "deleted; the body is `null`", body = inline(Null)),
    (status = 401, description = "missing or wrong bearer token (only with --token)", body = ErrorBody),
    (status = 404, description = "unknown, deleted, expired or evicted", body = ErrorBody),
))]
fn delete_file() {}

/// What this server is and can do.
#[utoipa::path(get, path = "/version", tag = "go-judge", responses(
    (status = 200, description = "version and features", body = Version),
    (status = 401, description = "missing or wrong bearer token (only with --token)", body = ErrorBody),
))]
fn version() {}

/// The settings that shape runs.
#[utoipa::path(get, path = "/config", tag = "go-judge", responses(
    (status = 200, description = "settings", body = Config),
    (status = 401, description = "missing or wrong bearer token (only with --token)", body = ErrorBody),
))]
fn config() {}

#[derive(OpenApi)]
#[openapi(
    paths(run, list_files, upload_file, download_file, delete_file, version, config),
    components(schemas(RunRequest, CmdResult, ErrorBody, Version, Config)),
    tags((name = "go-judge", description = "go-judge's REST API: point a go-judge client at /go-judge"))
)]
struct Document;

/// The go-judge part of the server's document, with paths relative to `/go-judge`.
pub fn document() -> utoipa::openapi::OpenApi {
    Document::openapi()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde::de::{self, Deserialize, Visitor};
    use serde_json::{json, Value};

    use super::super::convert::{DEFAULT_OUTPUT, MAX_CLOCK, MAX_CMDS, MAX_CPU, MAX_MEMORY, MAX_OUTPUT, MAX_PROCS};
    use super::super::{handlers, GoJudge};
    use super::*;

    fn schemas() -> Value {
        serde_json::to_value(Document::openapi()).unwrap()["components"]["schemas"].clone()
    }

    fn properties(schemas: &Value, name: &str) -> Vec<String> {
        let object = schemas[name]["properties"].as_object().unwrap_or_else(|| panic!("no schema {name}"));
        let mut keys: Vec<String> = object.keys().cloned().collect();
        keys.sort();
        keys
    }

    fn sorted(names: &[&str]) -> Vec<String> {
        let mut names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        names.sort();
        names
    }

    /// The wire names of a struct's fields, as its `Deserialize` asks for
    /// them: serde hands them to `deserialize_struct`, which keeps them and stops.
    fn wire_fields<'de, T: Deserialize<'de>>() -> Vec<String> {
        struct Capture(Option<&'static [&'static str]>);
        impl<'de> de::Deserializer<'de> for &mut Capture {
            type Error = de::value::Error;
            fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
                Err(de::Error::custom("not a struct"))
            }
            fn deserialize_struct<V: Visitor<'de>>(
                self,
                _: &'static str,
                fields: &'static [&'static str],
                _: V,
            ) -> Result<V::Value, Self::Error> {
                self.0 = Some(fields);
                Err(de::Error::custom("fields captured"))
            }
            serde::forward_to_deserialize_any! {
                bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
                option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier ignored_any
            }
        }
        let mut capture = Capture(None);
        let _ = T::deserialize(&mut capture);
        sorted(capture.0.expect("a struct"))
    }

    #[test]
    fn request_schemas_have_the_fields_the_server_reads() {
        let schemas = schemas();
        assert_eq!(properties(&schemas, "GoJudgeRunRequest"), wire_fields::<model::RunRequest>());
        assert_eq!(properties(&schemas, "GoJudgeCmd"), wire_fields::<model::Cmd>());
        assert_eq!(properties(&schemas, "GoJudgeFile"), wire_fields::<model::FileSpec>());
        assert_eq!(properties(&schemas, "GoJudgePipeMap"), wire_fields::<model::PipeMap>());
        assert_eq!(properties(&schemas, "GoJudgePipeEnd"), wire_fields::<model::PipeEnd>());
        // go-judge's requests carry these; a client that sends them must be told.
        assert_eq!(schemas["GoJudgeRunRequest"]["required"], json!(["cmd"]));
        assert_eq!(schemas["GoJudgeCmd"]["required"], json!(["args"]));
    }

    #[test]
    fn documented_bounds_are_the_ones_convert_checks() {
        let schemas = schemas();
        let cmd = &schemas["GoJudgeCmd"]["properties"];
        let max = |value: &Value| value["maximum"].as_u64().unwrap_or_else(|| panic!("no maximum in {value}"));
        assert_eq!(schemas["GoJudgeRunRequest"]["properties"]["cmd"]["maxItems"], json!(MAX_CMDS));
        assert_eq!(max(&cmd["cpuLimit"]) as u128, MAX_CPU.as_nanos());
        assert_eq!(max(&cmd["realCpuLimit"]) as u128, MAX_CLOCK.as_nanos());
        assert_eq!(max(&cmd["clockLimit"]) as u128, MAX_CLOCK.as_nanos());
        assert_eq!(max(&cmd["memoryLimit"]), MAX_MEMORY);
        assert_eq!(max(&cmd["stackLimit"]), MAX_MEMORY);
        assert_eq!(max(&cmd["procLimit"]), MAX_PROCS);
        assert_eq!(max(&cmd["copyOutMax"]), MAX_OUTPUT);
        assert_eq!(max(&schemas["GoJudgeFile"]["properties"]["max"]), MAX_OUTPUT);
        assert_eq!(max(&schemas["GoJudgePipeMap"]["properties"]["max"]), MAX_OUTPUT);
        assert_eq!(DEFAULT_OUTPUT, 64 * engine::limits::MIB, "the descriptions say 64 MiB");
    }

    #[test]
    fn result_schema_has_every_field_the_server_writes() {
        let schemas = schemas();
        let mut result = model::CmdResult::failed(model::Status::FileError, "why");
        result.file_ids.insert("out".into(), "id".into());
        result.file_error.push(model::FileError {
            name: "out".into(),
            kind: model::FileErrorKind::CopyOutOpen,
            message: "missing".into(),
        });
        let written = serde_json::to_value(&result).unwrap();
        let keys: Vec<&str> = written.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(properties(&schemas, "GoJudgeResult"), sorted(&keys));
        let keys: Vec<&str> = written["fileError"][0].as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(properties(&schemas, "GoJudgeFileError"), sorted(&keys));
        // The fields the server always writes are required.
        let always: Vec<&str> = ["status", "exitStatus", "time", "memory", "runTime", "files"].into();
        assert_eq!(schemas["GoJudgeResult"]["required"], json!(always));
    }

    #[test]
    fn status_and_file_error_enums_are_what_the_server_writes() {
        let schemas = schemas();
        let statuses = &schemas["GoJudgeStatus"]["enum"];
        assert_eq!(statuses.as_array().map(Vec::len), Some(8), "{statuses}");
        for status in [model::Status::Accepted, model::Status::NonzeroExit, model::Status::TimeLimitExceeded] {
            let name = serde_json::to_value(status).unwrap();
            assert!(statuses.as_array().unwrap().contains(&name), "{name} missing from {statuses}");
        }
        assert!(statuses.as_array().unwrap().contains(&json!("Nonzero Exit Status")));
        let kinds = &schemas["GoJudgeFileErrorType"]["enum"];
        assert_eq!(kinds.as_array().map(Vec::len), Some(8), "{kinds}");
        assert!(kinds.as_array().unwrap().contains(&json!("CopyOutSizeExceeded")));
    }

    async fn body(response: axum::response::Response) -> Value {
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    fn keys(value: &Value) -> Vec<String> {
        let mut keys: Vec<String> = value.as_object().unwrap().keys().cloned().collect();
        keys.sort();
        keys
    }

    #[tokio::test]
    async fn version_and_config_schemas_match_the_answers() {
        let schemas = schemas();
        let version = body(handlers::version().await).await;
        assert_eq!(properties(&schemas, "GoJudgeVersion"), keys(&version));
        let service: Arc<GoJudge> = GoJudge::for_tests();
        let config = body(handlers::config(axum::extract::State(service)).await).await;
        assert_eq!(properties(&schemas, "GoJudgeConfig"), keys(&config));
        assert_eq!(properties(&schemas, "GoJudgeRunnerConfig"), keys(&config["runnerConfig"]));
    }
}
