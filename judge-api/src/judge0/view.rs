//! A Judge0 submission as the API shows it: every field Judge0 has, then
//! `?fields=` picks some and `?base64_encoded=` says how text goes out.

use base64::Engine;
use serde_json::{json, Map, Value};

use super::model::{status_json, timestamp, Finished, Job, INTERNAL_ERROR, IN_QUEUE, PROCESSING};
use super::Settings;
use crate::store::{Record, State};

/// Judge0's fields for `fields=*`, in its order.
pub const ALL_FIELDS: &[&str] = &[
    "source_code",
    "language_id",
    "stdin",
    "expected_output",
    "stdout",
    "status_id",
    "created_at",
    "finished_at",
    "time",
    "memory",
    "stderr",
    "token",
    "number_of_runs",
    "cpu_time_limit",
    "cpu_extra_time",
    "wall_time_limit",
    "memory_limit",
    "stack_limit",
    "max_processes_and_or_threads",
    "enable_per_process_and_thread_time_limit",
    "enable_per_process_and_thread_memory_limit",
    "max_file_size",
    "compile_output",
    "exit_code",
    "exit_signal",
    "message",
    "wall_time",
    "compiler_options",
    "command_line_arguments",
    "redirect_stderr_to_stdout",
    "callback_url",
    "additional_files",
    "enable_network",
    "post_execution_filesystem",
    "status",
    "language",
];

/// What Judge0 answers without `?fields=`.
pub const DEFAULT_FIELDS: &[&str] =
    &["stdout", "time", "memory", "stderr", "token", "compile_output", "message", "status"];

/// Fields holding text that `base64_encoded` applies to.
const TEXT_FIELDS: &[&str] = &["source_code", "stdin", "expected_output", "stdout", "stderr", "compile_output"];

/// `?fields=`: `*`, a comma-separated list, or the defaults; an unknown
/// name is the caller's error (Judge0 answers 400 naming them).
pub fn parse_fields(fields: Option<&str>) -> Result<Vec<&'static str>, String> {
    let Some(fields) = fields.map(str::trim).filter(|f| !f.is_empty()) else {
        return Ok(DEFAULT_FIELDS.to_vec());
    };
    if fields == "*" {
        return Ok(ALL_FIELDS.to_vec());
    }
    let mut chosen = Vec::new();
    let mut unknown = Vec::new();
    for name in fields.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        match ALL_FIELDS.iter().find(|f| **f == name) {
            Some(field) => chosen.push(*field),
            None => unknown.push(name.to_string()),
        }
    }
    if unknown.is_empty() {
        Ok(chosen)
    } else {
        Err(format!("invalid fields: [{}]", unknown.join(", ")))
    }
}

/// A stored submission in Judge0's terms; `None` when the id is a native
/// submission rather than a Judge0 one. `job` is the request as stored
/// (`Store::job`), needed while the result does not carry it: queued,
/// running, or ended without running.
pub fn full(record: &Record, job: Option<&Job>, settings: &Settings) -> Option<Map<String, Value>> {
    let mut out = Map::new();
    out.insert("token".into(), json!(record.id));
    let stored = match &record.state {
        State::Done(outcome) => serde_json::from_str(&outcome.body).unwrap_or(Value::Null),
        _ => Value::Null,
    };
    match (&record.state, stored.get("judge0"), job) {
        (State::Done(_), Some(finished), _) => {
            let finished = serde_json::from_value::<Finished>(finished.clone()).ok()?;
            request(&mut out, &finished.job, settings);
            done(&mut out, &finished);
        }
        (State::Queued, _, Some(job)) => pending(&mut out, job, IN_QUEUE, settings),
        (State::Running { .. }, _, Some(job)) => pending(&mut out, job, PROCESSING, settings),
        // The judge's own failure (out of attempts, a store fault):
        // Judge0's Internal Error, with the reason as the message.
        (State::Done(outcome), None, Some(job)) if outcome.status >= 500 => {
            pending(&mut out, job, INTERNAL_ERROR, settings);
            out.insert("message".into(), stored.get("error").cloned().unwrap_or(Value::Null));
        }
        _ => return None,
    }
    Some(out)
}

/// A submission without a run's result: its request, the rest null.
fn pending(out: &mut Map<String, Value>, job: &Job, status: u8, settings: &Settings) {
    for field in ALL_FIELDS {
        out.entry(field.to_string()).or_insert(Value::Null);
    }
    request(out, job, settings);
    out.insert("status_id".into(), json!(status));
    out.insert("status".into(), status_json(status));
}

/// The fields that come from the request.
fn request(out: &mut Map<String, Value>, job: &Job, settings: &Settings) {
    let l = &job.limits;
    let language = settings.catalog.get(job.language_id).map(|e| e.summary());
    let fields = [
        ("source_code", Value::String(base64_of(&job.source_code))),
        ("language_id", json!(job.language_id)),
        ("stdin", bytes(&job.stdin)),
        ("expected_output", bytes(&job.expected_output)),
        ("created_at", json!(timestamp(job.created_ms))),
        ("number_of_runs", json!(l.number_of_runs)),
        ("cpu_time_limit", decimal(Some(l.cpu_time_limit))),
        ("cpu_extra_time", decimal(Some(l.cpu_extra_time))),
        ("wall_time_limit", decimal(Some(l.wall_time_limit))),
        ("memory_limit", json!(l.memory_limit)),
        ("stack_limit", json!(l.stack_limit)),
        ("max_processes_and_or_threads", json!(l.max_processes_and_or_threads)),
        ("enable_per_process_and_thread_time_limit", json!(l.enable_per_process_and_thread_time_limit)),
        ("enable_per_process_and_thread_memory_limit", json!(l.enable_per_process_and_thread_memory_limit)),
        ("max_file_size", json!(l.max_file_size)),
        ("compiler_options", json!(job.compiler_options)),
        ("command_line_arguments", json!(job.command_line_arguments)),
        ("redirect_stderr_to_stdout", json!(l.redirect_stderr_to_stdout)),
        ("callback_url", json!(job.callback_url)),
        ("additional_files", Value::Null),
        ("enable_network", json!(false)),
        ("post_execution_filesystem", Value::Null),
        ("language", language.unwrap_or_else(|| json!({ "id": job.language_id, "name": job.language }))),
    ];
    for (name, value) in fields {
        out.insert(name.into(), value);
    }
}

/// The fields that come from the run.
fn done(out: &mut Map<String, Value>, f: &Finished) {
    let fields = [
        ("stdout", bytes(&f.stdout)),
        ("status_id", json!(f.status_id)),
        ("finished_at", json!(timestamp(f.finished_ms))),
        ("time", decimal(f.time)),
        ("memory", json!(f.memory)),
        ("stderr", bytes(&f.stderr)),
        ("compile_output", bytes(&f.compile_output)),
        ("exit_code", json!(f.exit_code)),
        ("exit_signal", json!(f.exit_signal)),
        ("message", json!(f.message)),
        ("wall_time", decimal(f.wall_time)),
        ("status", status_json(f.status_id)),
    ];
    for (name, value) in fields {
        out.insert(name.into(), value);
    }
}

fn bytes(b: &Option<Vec<u8>>) -> Value {
    b.as_ref().map(|b| Value::String(base64_of(b))).unwrap_or(Value::Null)
}

/// Judge0 writes its decimals as strings ("0.002").
fn decimal(seconds: Option<f64>) -> Value {
    match seconds {
        Some(s) if s.fract() == 0.0 => json!(format!("{s:.1}")),
        Some(s) => json!(format!("{}", (s * 1000.0).round() / 1000.0)),
        None => Value::Null,
    }
}

fn base64_of(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The chosen fields, text as base64 or as UTF-8. Text that is not UTF-8
/// without base64 is Judge0's 400, telling the client to ask for base64.
pub fn select(full: &Map<String, Value>, fields: &[&str], base64: bool) -> Result<Value, String> {
    let mut out = Map::new();
    for field in fields {
        let mut value = full.get(*field).cloned().unwrap_or(Value::Null);
        if TEXT_FIELDS.contains(field) && !base64 {
            if let Value::String(encoded) = &value {
                let raw = base64::engine::general_purpose::STANDARD.decode(encoded).unwrap_or_default();
                match String::from_utf8(raw) {
                    Ok(text) => value = Value::String(text),
                    Err(_) => {
                        return Err(
                            "some attributes for this submission cannot be converted to UTF-8, use base64_encoded=true"
                                .into(),
                        )
                    }
                }
            }
        }
        out.insert(field.to_string(), value);
    }
    Ok(Value::Object(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_lists() {
        assert_eq!(parse_fields(None).unwrap(), DEFAULT_FIELDS);
        assert_eq!(parse_fields(Some("*")).unwrap().len(), ALL_FIELDS.len());
        assert_eq!(parse_fields(Some("stdout, status")).unwrap(), vec!["stdout", "status"]);
        assert_eq!(parse_fields(Some("stdout,nope,zz")).unwrap_err(), "invalid fields: [nope, zz]");
    }

    #[test]
    fn decimals_as_judge0_writes_them() {
        assert_eq!(decimal(Some(5.0)), json!("5.0"));
        assert_eq!(decimal(Some(0.0021)), json!("0.002"));
        assert_eq!(decimal(None), Value::Null);
    }
}
