//! go-judge's wire format: the `/run` request and its per-command results,
//! field for field as go-judge names them (camelCase). Only shapes here; what
//! the values mean for this judge is decided in `convert.rs`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// `POST /run`. Unknown fields (`requestId` of go-judge's stream API) are ignored.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunRequest {
    #[serde(default)]
    pub cmd: Vec<Cmd>,
    #[serde(default)]
    pub pipe_mapping: Vec<PipeMap>,
}

/// One program of a request.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Cmd {
    #[serde(default)]
    pub args: Vec<String>,
    /// `KEY=value` entries.
    #[serde(default)]
    pub env: Vec<String>,
    /// fd 0, 1, 2 (and more in go-judge); `null` for a pipeMapping end.
    #[serde(default)]
    pub files: Vec<Option<FileSpec>>,
    #[serde(default)]
    pub tty: bool,
    /// Nanoseconds.
    #[serde(default)]
    pub cpu_limit: u64,
    #[serde(default)]
    pub real_cpu_limit: u64,
    #[serde(default)]
    pub clock_limit: u64,
    /// Bytes.
    #[serde(default)]
    pub memory_limit: u64,
    #[serde(default)]
    pub stack_limit: u64,
    #[serde(default)]
    pub proc_limit: u64,
    #[serde(default)]
    pub cpu_rate_limit: u64,
    #[serde(default)]
    pub cpu_set_limit: String,
    #[serde(default)]
    pub strict_memory_limit: bool,
    #[serde(default)]
    pub data_segment_limit: bool,
    #[serde(default)]
    pub address_space_limit: bool,
    #[serde(default)]
    pub copy_in: BTreeMap<String, FileSpec>,
    #[serde(default)]
    pub copy_out: Vec<String>,
    #[serde(default)]
    pub copy_out_cached: Vec<String>,
    #[serde(default)]
    pub copy_out_max: u64,
    #[serde(default)]
    pub copy_out_dir: String,
}

/// Every shape a go-judge file takes, as one struct: `{content}`, `{src}`,
/// `{fileId}`, `{name, max}`, `{symlink}`, `{streamIn}`, `{streamOut}`. `convert.rs` says
/// which combinations are valid where.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FileSpec {
    pub content: Option<String>,
    pub src: Option<String>,
    pub file_id: Option<String>,
    pub name: Option<String>,
    pub max: Option<u64>,
    /// Stream names of go-judge's WebSocket API; refused here.
    pub stream_in: Option<serde_json::Value>,
    pub stream_out: Option<serde_json::Value>,
    /// `copyIn` only: make a symlink to this target instead of a file.
    pub symlink: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PipeMap {
    /// The writing end: `in.index`'s fd `in.fd` writes into the pipe.
    #[serde(rename = "in")]
    pub input: PipeEnd,
    /// The reading end: `out.index`'s fd `out.fd` reads from it.
    #[serde(rename = "out")]
    pub output: PipeEnd,
    #[serde(default)]
    pub proxy: bool,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub max: u64,
}

#[derive(Clone, Copy, Debug, Deserialize)]
pub struct PipeEnd {
    pub index: usize,
    pub fd: usize,
}

/// go-judge's status strings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Status {
    Accepted,
    #[serde(rename = "Memory Limit Exceeded")]
    MemoryLimitExceeded,
    #[serde(rename = "Time Limit Exceeded")]
    TimeLimitExceeded,
    #[serde(rename = "Output Limit Exceeded")]
    OutputLimitExceeded,
    #[serde(rename = "File Error")]
    FileError,
    #[serde(rename = "Nonzero Exit Status")]
    NonzeroExit,
    Signalled,
    #[serde(rename = "Internal Error")]
    InternalError,
}

/// One command's result.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CmdResult {
    pub status: Status,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub error: String,
    pub exit_status: i32,
    /// CPU time, ns.
    pub time: u64,
    /// Peak memory, bytes.
    pub memory: u64,
    /// Elapsed time, ns.
    pub run_time: u64,
    /// Collected outputs and `copyOut` files, as text.
    pub files: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub file_ids: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub file_error: Vec<FileError>,
}

impl CmdResult {
    /// A result for a command that never ran.
    pub fn failed(status: Status, error: impl Into<String>) -> CmdResult {
        CmdResult {
            status,
            error: error.into(),
            exit_status: 0,
            time: 0,
            memory: 0,
            run_time: 0,
            files: BTreeMap::new(),
            file_ids: BTreeMap::new(),
            file_error: Vec::new(),
        }
    }
}

/// What went wrong with one file, with go-judge's type names.
#[derive(Debug, Serialize)]
pub struct FileError {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: FileErrorKind,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub message: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum FileErrorKind {
    CopyInOpenFile,
    CopyInCreateFile,
    CopyInSymlink,
    CopyOutOpen,
    CopyOutNotRegularFile,
    CopyOutSizeExceeded,
    CopyOutCreateFile,
    CollectSizeExceeded,
}
