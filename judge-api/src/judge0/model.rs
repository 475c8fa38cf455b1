//! Judge0's vocabulary: its status ids, a checked submission as it is
//! stored in the job JSON (`Job`), and a finished one as it is stored in
//! the result JSON (`Finished`). Bytes are kept as base64 in both, so
//! non-UTF-8 input and output survive the store unchanged.

use serde::{Deserialize, Serialize};

/// Judge0's statuses, ids 1 to 14, with its descriptions.
pub const STATUSES: [(u8, &str); 14] = [
    (1, "In Queue"),
    (2, "Processing"),
    (3, "Accepted"),
    (4, "Wrong Answer"),
    (5, "Time Limit Exceeded"),
    (6, "Compilation Error"),
    (7, "Runtime Error (SIGSEGV)"),
    (8, "Runtime Error (SIGXFSZ)"),
    (9, "Runtime Error (SIGFPE)"),
    (10, "Runtime Error (SIGABRT)"),
    (11, "Runtime Error (NZEC)"),
    (12, "Runtime Error (Other)"),
    (13, "Internal Error"),
    (14, "Exec Format Error"),
];

pub const IN_QUEUE: u8 = 1;
pub const PROCESSING: u8 = 2;
pub const ACCEPTED: u8 = 3;
pub const WRONG_ANSWER: u8 = 4;
pub const TIME_LIMIT: u8 = 5;
pub const COMPILATION_ERROR: u8 = 6;
pub const SIGSEGV: u8 = 7;
pub const SIGXFSZ: u8 = 8;
pub const SIGFPE: u8 = 9;
pub const SIGABRT: u8 = 10;
pub const NZEC: u8 = 11;
pub const RUNTIME_OTHER: u8 = 12;
pub const INTERNAL_ERROR: u8 = 13;
pub const EXEC_FORMAT_ERROR: u8 = 14;

pub fn status_json(id: u8) -> serde_json::Value {
    let description = STATUSES.iter().find(|(i, _)| *i == id).map_or("Internal Error", |(_, d)| d);
    serde_json::json!({ "id": id, "description": description })
}

/// The limits of one submission, defaults filled in and checked.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Limits {
    /// Seconds of CPU time.
    pub cpu_time_limit: f64,
    /// Seconds of CPU time past the limit before the program is stopped.
    pub cpu_extra_time: f64,
    pub wall_time_limit: f64,
    /// KB.
    pub memory_limit: u64,
    /// KB.
    pub stack_limit: u64,
    pub max_processes_and_or_threads: u64,
    /// KB.
    pub max_file_size: u64,
    pub number_of_runs: u32,
    pub enable_per_process_and_thread_time_limit: bool,
    pub enable_per_process_and_thread_memory_limit: bool,
    pub redirect_stderr_to_stdout: bool,
    /// Whether the caller set it (Judge0's default applies otherwise, which
    /// here is at least what the language needs).
    pub processes_given: bool,
}

/// A Judge0 submission as the job JSON holds it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Job {
    pub language_id: u32,
    /// This server's language id.
    pub language: String,
    pub created_ms: i64,
    #[serde(with = "b64")]
    pub source_code: Vec<u8>,
    #[serde(with = "b64_opt", default)]
    pub stdin: Option<Vec<u8>>,
    #[serde(with = "b64_opt", default)]
    pub expected_output: Option<Vec<u8>>,
    pub compiler_options: Option<String>,
    pub command_line_arguments: Option<String>,
    pub limits: Limits,
    pub callback_url: Option<String>,
}

/// A finished Judge0 submission as the result JSON holds it (under `"judge0"`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Finished {
    pub status_id: u8,
    #[serde(with = "b64_opt", default)]
    pub stdout: Option<Vec<u8>>,
    #[serde(with = "b64_opt", default)]
    pub stderr: Option<Vec<u8>>,
    #[serde(with = "b64_opt", default)]
    pub compile_output: Option<Vec<u8>>,
    pub message: Option<String>,
    pub exit_code: Option<i32>,
    pub exit_signal: Option<i32>,
    /// Seconds of CPU time.
    pub time: Option<f64>,
    pub wall_time: Option<f64>,
    /// KB.
    pub memory: Option<u64>,
    pub finished_ms: i64,
    pub job: Job,
    /// For the metrics only, not stored: the compile step's time and each run's elapsed time.
    #[serde(skip)]
    pub compile_duration: Option<std::time::Duration>,
    #[serde(skip)]
    pub run_durations: Vec<std::time::Duration>,
}

impl Finished {
    pub fn new(job: Job, status_id: u8) -> Finished {
        Finished {
            status_id,
            stdout: None,
            stderr: None,
            compile_output: None,
            message: None,
            exit_code: None,
            exit_signal: None,
            time: None,
            wall_time: None,
            memory: None,
            finished_ms: 0,
            job,
            compile_duration: None,
            run_durations: Vec::new(),
        }
    }
}

/// Our verdicts for the status ids, for the native view, the logs and the metrics.
pub fn verdict_of(status_id: u8) -> engine::Verdict {
    use engine::Verdict;
    match status_id {
        ACCEPTED => Verdict::AC,
        WRONG_ANSWER => Verdict::WA,
        TIME_LIMIT => Verdict::TLE,
        COMPILATION_ERROR => Verdict::CE,
        SIGSEGV..=RUNTIME_OTHER | EXEC_FORMAT_ERROR => Verdict::RE,
        _ => Verdict::IE,
    }
}

pub mod b64 {
    use base64::Engine;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        base64::engine::general_purpose::STANDARD.decode(text).map_err(serde::de::Error::custom)
    }
}

pub mod b64_opt {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
        match bytes {
            Some(bytes) => super::b64::serialize(bytes, s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
        use base64::Engine;
        match Option::<String>::deserialize(d)? {
            Some(text) => {
                base64::engine::general_purpose::STANDARD.decode(text).map(Some).map_err(serde::de::Error::custom)
            }
            None => Ok(None),
        }
    }
}

/// Judge0's output check: each line's trailing whitespace dropped, then
/// leading and trailing whitespace of the whole.
pub fn outputs_match(expected: &[u8], actual: &[u8]) -> bool {
    normalize(expected) == normalize(actual)
}

fn normalize(text: &[u8]) -> Vec<u8> {
    // Ruby's strip/rstrip: ASCII whitespace and NUL.
    let space = |b: &u8| matches!(b, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r' | b'\0');
    let mut lines: Vec<&[u8]> = text
        .split(|b| *b == b'\n')
        .map(|line| {
            let end = line.iter().rposition(|b| !space(b)).map_or(0, |i| i + 1);
            &line[..end]
        })
        .collect();
    while lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    let joined = lines.join(&b'\n');
    let start = joined.iter().position(|b| !space(b)).unwrap_or(joined.len());
    joined[start..].to_vec()
}

/// `2024-01-31T12:34:56.789Z` for milliseconds since the epoch (UTC), as
/// Judge0 writes `created_at`. Days to a civil date after Howard Hinnant's
/// public-domain algorithm; a date crate would be a dependency for one call.
pub fn timestamp(ms: i64) -> String {
    let (secs, millis) = (ms.div_euclid(1000), ms.rem_euclid(1000));
    let (days, rest) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{millis:03}Z", rest / 3600, rest % 3600 / 60, rest % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_check_ignores_trailing_whitespace_as_judge0_does() {
        assert!(outputs_match(b"1 2\n3\n", b"1 2   \n3"));
        assert!(outputs_match(b"hello", b"\n\nhello\n\n\n"));
        assert!(outputs_match(b"a\r\nb\r\n", b"a\nb"));
        assert!(!outputs_match(b"a b", b"a  b"));
        assert!(!outputs_match(b"a\nb", b"a\n\nb"));
        assert!(!outputs_match(b"1", b"2"));
        assert!(outputs_match(b"", b"  \n"));
    }

    #[test]
    fn timestamps() {
        assert_eq!(timestamp(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(timestamp(951_782_400_123), "2000-02-29T00:00:00.123Z");
        assert_eq!(timestamp(1_735_689_599_999), "2024-12-31T23:59:59.999Z");
    }

    #[test]
    fn every_status_has_its_judge0_description() {
        assert_eq!(STATUSES.len(), 14);
        for (i, (id, _)) in STATUSES.iter().enumerate() {
            assert_eq!(usize::from(*id), i + 1);
        }
        assert_eq!(status_json(11)["description"], "Runtime Error (NZEC)");
    }
}
