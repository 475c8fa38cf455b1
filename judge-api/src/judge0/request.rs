//! Checking a `POST /submissions` body into a `Job`, with Judge0's answer
//! to a bad one: 422 `{field: [messages]}`.

use std::collections::BTreeMap;

use base64::Engine;
use serde_json::{Map, Value};

use super::languages::{known_id, COMPILER_OPTIONS};
use super::model::{Job, Limits};
use super::Settings;
use crate::server::App;

/// Field → messages, Judge0's 422 body.
pub type Invalid = BTreeMap<String, Vec<String>>;

/// Longest `compiler_options` and `command_line_arguments`, as Judge0.
const MAX_OPTIONS: usize = 512;

struct Fields<'a> {
    body: &'a Map<String, Value>,
    base64: bool,
    invalid: Invalid,
}

impl Fields<'_> {
    fn fail(&mut self, field: &str, message: impl Into<String>) {
        self.invalid.entry(field.to_string()).or_default().push(message.into());
    }

    fn present(&self, field: &str) -> Option<&Value> {
        self.body.get(field).filter(|v| !v.is_null())
    }

    /// A text field, base64-decoded when asked for.
    fn text(&mut self, field: &str) -> Option<Vec<u8>> {
        let value = self.present(field)?.clone();
        let Value::String(text) = value else {
            self.fail(field, "must be a string");
            return None;
        };
        if !self.base64 {
            return Some(text.into_bytes());
        }
        let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
        match base64::engine::general_purpose::STANDARD_NO_PAD.decode(compact.trim_end_matches('=')) {
            Ok(bytes) => Some(bytes),
            Err(_) => {
                self.fail(field, "is not valid base64 (base64_encoded=true)");
                None
            }
        }
    }

    fn string(&mut self, field: &str, max: usize) -> Option<String> {
        let value = self.present(field)?.clone();
        match value {
            Value::String(text) if text.len() > max => {
                self.fail(field, format!("is too long (maximum is {max} characters)"));
                None
            }
            Value::String(text) if shlex::split(&text).is_none() => {
                self.fail(field, "has an unterminated quote");
                None
            }
            Value::String(text) => Some(text),
            _ => {
                self.fail(field, "must be a string");
                None
            }
        }
    }

    fn boolean(&mut self, field: &str) -> Option<bool> {
        match self.present(field)? {
            Value::Bool(b) => Some(*b),
            Value::String(s) if s == "true" || s == "false" => Some(s == "true"),
            _ => {
                self.fail(field, "must be true or false");
                None
            }
        }
    }

    /// A number in `min..=max` (strings of numbers too, as Rails takes them).
    fn number(&mut self, field: &str, default: f64, min: f64, max: f64, min_inclusive: bool) -> f64 {
        let Some(value) = self.present(field) else { return default };
        let number = match value {
            Value::Number(n) => n.as_f64(),
            Value::String(s) => s.trim().parse::<f64>().ok(),
            _ => None,
        };
        let Some(number) = number.filter(|n| n.is_finite()) else {
            self.fail(field, "is not a number");
            return default;
        };
        if min_inclusive && number < min {
            self.fail(field, format!("must be greater than or equal to {}", show(min)));
        } else if !min_inclusive && number <= min {
            self.fail(field, format!("must be greater than {}", show(min)));
        } else if number > max {
            self.fail(field, format!("must be less than or equal to {}", show(max)));
        } else {
            return number;
        }
        default
    }

    fn integer(&mut self, field: &str, default: u64, min: u64, max: u64) -> u64 {
        let given = self.present(field).cloned();
        let number = self.number(field, default as f64, min as f64, max as f64, true);
        if given.is_some() && number.fract() != 0.0 {
            self.fail(field, "must be an integer");
            return default;
        }
        number as u64
    }
}

fn show(n: f64) -> String {
    if n.fract() == 0.0 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

/// Checks one submission object; `Err` is Judge0's 422 body.
pub fn parse(app: &App, settings: &Settings, value: &Value, base64: bool, now_ms: i64) -> Result<Job, Invalid> {
    let Some(body) = value.as_object() else {
        let mut invalid = Invalid::new();
        invalid.insert("submission".into(), vec!["must be a JSON object".into()]);
        return Err(invalid);
    };
    let mut f = Fields { body, base64, invalid: Invalid::new() };
    let source = f.text("source_code");
    if f.present("additional_files").is_some() {
        f.fail("additional_files", "are not supported by this server (enable_additional_files is false)");
    }
    match &source {
        None if !f.invalid.contains_key("source_code") => f.fail("source_code", "can't be blank"),
        Some(s) if s.len() > app.config.max_source_bytes => {
            f.fail("source_code", format!("is too long (maximum is {} bytes)", app.config.max_source_bytes))
        }
        _ => {}
    }
    let language = match f.present("language_id").cloned() {
        None => {
            f.fail("language_id", "can't be blank");
            None
        }
        Some(id) => {
            let number = id.as_u64().or_else(|| id.as_str().and_then(|s| s.trim().parse().ok()));
            match number.and_then(|n| u32::try_from(n).ok()).and_then(|n| settings.catalog.get(n).map(|e| (n, e))) {
                Some((n, entry)) => Some((n, entry.language.id.clone())),
                None => {
                    let shown = match &id {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    let why = match number.and_then(|n| u32::try_from(n).ok()).and_then(known_id) {
                        Some(ours) => format!("language with id {shown} doesn't exist (this server lacks {ours})"),
                        None => format!("language with id {shown} doesn't exist"),
                    };
                    f.fail("language_id", why);
                    None
                }
            }
        }
    };
    let stdin = f.text("stdin");
    let expected_output = f.text("expected_output");
    let compiler_options = f.string("compiler_options", MAX_OPTIONS).filter(|s| !s.trim().is_empty());
    if let (Some(_), Some((_, ours))) = (&compiler_options, &language) {
        if !COMPILER_OPTIONS.contains(&ours.as_str()) {
            f.fail("compiler_options", format!("setting compiler options for {ours} is not allowed"));
        }
    }
    let command_line_arguments = f.string("command_line_arguments", MAX_OPTIONS).filter(|s| !s.trim().is_empty());

    let s = settings;
    let limits = Limits {
        cpu_time_limit: f.number("cpu_time_limit", s.cpu_time_limit, 0.0, s.max_cpu_time_limit, false),
        cpu_extra_time: f.number("cpu_extra_time", s.cpu_extra_time, 0.0, s.max_cpu_extra_time, true),
        wall_time_limit: f.number("wall_time_limit", s.wall_time_limit, 0.0, s.max_wall_time_limit, false),
        memory_limit: f.integer("memory_limit", s.memory_limit, 2048, s.max_memory_limit),
        stack_limit: f.integer("stack_limit", s.stack_limit, 0, s.max_stack_limit),
        max_processes_and_or_threads: f.integer(
            "max_processes_and_or_threads",
            s.max_processes_and_or_threads,
            1,
            s.max_max_processes_and_or_threads,
        ),
        max_file_size: f.integer("max_file_size", s.max_file_size, 1, s.max_max_file_size),
        number_of_runs: f.integer("number_of_runs", 1, 1, s.max_number_of_runs) as u32,
        enable_per_process_and_thread_time_limit: false,
        enable_per_process_and_thread_memory_limit: false,
        redirect_stderr_to_stdout: f.boolean("redirect_stderr_to_stdout").unwrap_or(false),
        processes_given: f.present("max_processes_and_or_threads").is_some(),
    };
    for field in ["enable_per_process_and_thread_time_limit", "enable_per_process_and_thread_memory_limit"] {
        if f.boolean(field) == Some(true) {
            f.fail(field, "is not allowed: limits apply to all processes and threads of a run together");
        }
    }
    if f.boolean("enable_network") == Some(true) {
        f.fail("enable_network", "enabling network is not allowed");
    }
    let callback_url = match f.present("callback_url").cloned() {
        None => None,
        Some(Value::String(url)) => match crate::server::callbacks::check_url(app, &url) {
            Ok(url) => Some(url),
            Err(e) => {
                f.fail("callback_url", e.message);
                None
            }
        },
        Some(_) => {
            f.fail("callback_url", "must be a string");
            None
        }
    };
    if !f.invalid.is_empty() {
        return Err(f.invalid);
    }
    let (Some(source_code), Some((language_id, language))) = (source, language) else {
        // Both were recorded as invalid above when missing; kept total all the same.
        f.fail("source_code", "can't be blank");
        return Err(f.invalid);
    };
    Ok(Job {
        language_id,
        language,
        created_ms: now_ms,
        source_code,
        stdin,
        expected_output,
        compiler_options,
        command_line_arguments,
        limits,
        callback_url,
    })
}
