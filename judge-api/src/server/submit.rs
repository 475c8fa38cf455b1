//! `POST /submit` bodies: parsing and checking, so that every mistake of
//! the caller is a 4xx naming what is wrong before anything is stored.

use engine::grade::VALIDATOR_LANGUAGES;
use engine::limits::MIN_TIME_LIMIT;
use engine::validate::{SWITCH_FLAGS, TOLERANCE_FLAGS as NUMERIC_FLAGS};
use serde::Deserialize;
use serde_json::Value;

use super::error::ApiError;
use super::job::{self, CheckerProtocol, JobSpec, LanguageId, Limits, ProblemSpec};
use super::{callbacks, problems};
use super::{App, DEFAULT_MEMORY_MIB, DEFAULT_OUTPUT_MIB, DEFAULT_TIME_LIMIT};

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct SubmitRequest {
    language: String,
    source: String,
    #[serde(default)]
    problem: Option<String>,
    #[serde(default)]
    tests: Option<Vec<InlineTest>>,
    #[serde(default)]
    limits: Option<InlineLimits>,
    #[serde(default)]
    validator: Option<Value>,
    /// A checker for inline tests, given as source, instead of the default validator.
    #[serde(default)]
    checker: Option<InlineChecker>,
    #[serde(default)]
    wait: Option<bool>,
    #[serde(default)]
    run_all: Option<bool>,
    #[serde(default)]
    callback_url: Option<String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct InlineTest {
    #[serde(default)]
    name: Option<String>,
    input: String,
    answer: String,
}

/// A checker given as source, compiled and run sandboxed like a package's
/// output validator; its stderr (testlib) or feedback file (kattis) becomes
/// the test's feedback.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct InlineChecker {
    protocol: CheckerProtocol,
    /// The checker's language id: a language checkers may be written in.
    language: String,
    source: String,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct InlineLimits {
    /// Seconds of CPU time.
    #[serde(default)]
    time_limit: Option<f64>,
    /// MiB of resident memory.
    #[serde(default)]
    memory: Option<u64>,
    /// MiB of output.
    #[serde(default)]
    output: Option<u64>,
}

/// A checked submission, ready to store.
pub struct Checked {
    pub spec: JobSpec,
    pub wait: bool,
    /// Checked against `--callback-allow`.
    pub callback_url: Option<String>,
}

pub async fn parse(app: &App, body: &[u8]) -> Result<Checked, ApiError> {
    let request: SubmitRequest = serde_json::from_slice(body).map_err(|e| {
        let what = if e.is_syntax() || e.is_eof() {
            "the body is not valid JSON"
        } else {
            "the body does not fit the submission schema"
        };
        ApiError::bad_request(format!("{what}: {e}"))
    })?;

    let config = &app.config;
    if request.source.len() > config.max_source_bytes {
        return Err(ApiError::too_large(format!(
            "source is {} bytes; the limit is {} bytes (--max-source-kib {})",
            request.source.len(),
            config.max_source_bytes,
            config.max_source_bytes / 1024
        )));
    }
    let language = check_language(app, request.language)?;

    let callback_url = request.callback_url.as_deref().map(|url| callbacks::check_url(app, url)).transpose()?;
    let problem = match (request.problem, request.tests) {
        (Some(_), Some(_)) => return Err(ApiError::bad_request("give either \"problem\" or \"tests\", not both")),
        (None, None) => {
            return Err(ApiError::bad_request(
                "missing \"problem\" (a problem name, see GET /problems) or inline \"tests\"",
            ))
        }
        (Some(name), None) => {
            if request.limits.is_some() || request.validator.is_some() || request.checker.is_some() {
                return Err(ApiError::bad_request(
                    "\"limits\", \"validator\" and \"checker\" go with inline \"tests\"; \
                     a named problem uses its package's own",
                ));
            }
            let hash = problems::resolve(app, &name).await?;
            ProblemSpec::Named { name, hash }
        }
        (None, Some(tests)) => {
            let checker = request.checker.map(|c| check_checker(app, c)).transpose()?;
            if checker.is_some() && request.validator.is_some() {
                return Err(ApiError::bad_request(
                    "give either \"validator\" (the default validator's flags) or \"checker\", not both",
                ));
            }
            inline_problem(app, tests, request.limits, request.validator, checker)?
        }
    };
    Ok(Checked {
        spec: JobSpec { language, source: request.source, problem, run_all: request.run_all.unwrap_or(false) },
        wait: request.wait.unwrap_or(true),
        callback_url,
    })
}

fn check_language(app: &App, id: String) -> Result<LanguageId, ApiError> {
    match app.language_list.iter().find(|l| l.id == id) {
        Some(language) if language.available => Ok(LanguageId::checked(id)),
        Some(language) => Err(ApiError::bad_request(format!(
            "language {id:?} ({}) is not available on this server: its toolchain is missing",
            language.name
        ))),
        None => {
            let known: Vec<&str> = app.language_list.iter().filter(|l| l.available).map(|l| l.id.as_str()).collect();
            Err(ApiError::bad_request(format!("unknown language {id:?}; available: {}", known.join(", "))))
        }
    }
}

/// An inline checker in a language checkers may be written in and this server
/// has, within the source size limit; stored under a file name whose
/// extension tells the language.
fn check_checker(app: &App, checker: InlineChecker) -> Result<job::InlineChecker, ApiError> {
    let max = app.config.max_source_bytes;
    if checker.source.len() > max {
        return Err(ApiError::too_large(format!(
            "checker.source is {} bytes; the limit is {max} bytes (--max-source-kib {})",
            checker.source.len(),
            max / 1024
        )));
    }
    let usable = |id: &str| VALIDATOR_LANGUAGES.contains(&id);
    let known = || {
        let ids: Vec<&str> =
            app.language_list.iter().filter(|l| l.available && usable(&l.id)).map(|l| l.id.as_str()).collect();
        ids.join(", ")
    };
    let language = app.language_list.iter().find(|l| l.id == checker.language && usable(&l.id));
    let extension = match language {
        Some(l) if !l.available => {
            return Err(ApiError::bad_request(format!(
                "checker.language {:?} is not available on this server: its toolchain is missing; available: {}",
                checker.language,
                known()
            )))
        }
        Some(l) => l.extensions.first().cloned().unwrap_or_default(),
        None => {
            return Err(ApiError::bad_request(format!(
                "checker.language {:?} cannot run a checker here; checkers may be written in: {}",
                checker.language,
                known()
            )))
        }
    };
    Ok(job::InlineChecker { protocol: checker.protocol, file: format!("checker.{extension}"), source: checker.source })
}

fn inline_problem(
    app: &App,
    tests: Vec<InlineTest>,
    limits: Option<InlineLimits>,
    validator: Option<Value>,
    checker: Option<job::InlineChecker>,
) -> Result<ProblemSpec, ApiError> {
    let config = &app.config;
    if tests.is_empty() {
        return Err(ApiError::bad_request("\"tests\" is empty; give at least one test"));
    }
    if tests.len() > config.max_tests {
        return Err(ApiError::too_large(format!(
            "{} tests given; the limit is {} tests per submission (--max-tests)",
            tests.len(),
            config.max_tests
        )));
    }
    let limits = limits.unwrap_or(InlineLimits { time_limit: None, memory: None, output: None });
    let time_limit = limits.time_limit.unwrap_or(DEFAULT_TIME_LIMIT);
    if !time_limit.is_finite() || time_limit < MIN_TIME_LIMIT || time_limit > config.max_time_limit {
        return Err(ApiError::bad_request(format!(
            "limits.time_limit must be at least {MIN_TIME_LIMIT} and at most {} seconds (--max-time-limit), got {time_limit}",
            config.max_time_limit
        )));
    }
    let memory = limits.memory.unwrap_or(DEFAULT_MEMORY_MIB);
    if memory == 0 || memory > config.max_memory_mib {
        return Err(ApiError::bad_request(format!(
            "limits.memory must be between 1 and {} MiB (--max-memory-mib), got {memory}",
            config.max_memory_mib
        )));
    }
    let output = limits.output.unwrap_or(DEFAULT_OUTPUT_MIB);
    if output == 0 || output > config.max_output_mib {
        return Err(ApiError::bad_request(format!(
            "limits.output must be between 1 and {} MiB, got {output}",
            config.max_output_mib
        )));
    }
    let validator_flags = validator_flags(validator)?;
    let tests = tests
        .into_iter()
        .enumerate()
        .map(|(i, t)| job::InlineTest {
            name: t.name.unwrap_or_else(|| (i + 1).to_string()),
            input: t.input,
            answer: t.answer,
        })
        .collect();
    Ok(ProblemSpec::Inline {
        tests,
        limits: Limits { time_limit, memory_mib: memory, output_mib: output },
        validator_flags,
        checker,
    })
}

/// The default output validator's flags, given as an object
/// (`{"float_tolerance": 1e-6, "case_sensitive": true}`) or as the
/// problem.yaml list of words (`["float_tolerance", "1e-6"]`).
pub fn validator_flags(value: Option<Value>) -> Result<Vec<String>, ApiError> {
    let known = || format!("known flags: {}, {}", SWITCH_FLAGS.join(", "), NUMERIC_FLAGS.join(", "));
    let tolerance = |name: &str, value: Option<f64>| -> Result<String, ApiError> {
        match value {
            Some(v) if v.is_finite() && v >= 0.0 => Ok(v.to_string()),
            _ => Err(ApiError::bad_request(format!("validator flag {name} needs a non-negative number"))),
        }
    };
    let mut flags = Vec::new();
    match value {
        None | Some(Value::Null) => {}
        Some(Value::Object(map)) => {
            for (key, value) in map {
                if SWITCH_FLAGS.contains(&key.as_str()) {
                    match value {
                        Value::Bool(true) => flags.push(key),
                        Value::Bool(false) => {}
                        _ => return Err(ApiError::bad_request(format!("validator flag {key} must be true or false"))),
                    }
                } else if NUMERIC_FLAGS.contains(&key.as_str()) {
                    let number = tolerance(&key, value.as_f64())?;
                    flags.push(key);
                    flags.push(number);
                } else {
                    return Err(ApiError::bad_request(format!("unknown validator flag {key:?}; {}", known())));
                }
            }
        }
        Some(Value::Array(words)) => {
            let mut words = words.into_iter();
            while let Some(word) = words.next() {
                let Value::String(word) = word else {
                    return Err(ApiError::bad_request("validator flags given as a list must be strings"));
                };
                if SWITCH_FLAGS.contains(&word.as_str()) {
                    flags.push(word);
                } else if NUMERIC_FLAGS.contains(&word.as_str()) {
                    let number = match words.next() {
                        Some(Value::String(s)) => s.trim().parse::<f64>().ok(),
                        Some(Value::Number(n)) => n.as_f64(),
                        _ => None,
                    };
                    let number = tolerance(&word, number)?;
                    flags.push(word);
                    flags.push(number);
                } else {
                    return Err(ApiError::bad_request(format!("unknown validator flag {word:?}; {}", known())));
                }
            }
        }
        Some(_) => {
            return Err(ApiError::bad_request(
                "\"validator\" must be an object of flags, e.g. {\"float_tolerance\": 1e-6}, or a list of words",
            ))
        }
    }
    Ok(flags)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn validator_flags_from_an_object_or_a_list() {
        let flags = validator_flags(Some(
            json!({"case_sensitive": true, "space_change_sensitive": false, "float_tolerance": 0.001}),
        ))
        .unwrap();
        assert_eq!(flags, ["case_sensitive", "float_tolerance", "0.001"]);
        let flags = validator_flags(Some(json!(["float_relative_tolerance", "1e-6", "case_sensitive"]))).unwrap();
        assert_eq!(flags, ["float_relative_tolerance", "0.000001", "case_sensitive"]);
        assert!(validator_flags(None).unwrap().is_empty());
    }

    /// A queued job keeps its checker across a restart: it is in the stored JSON,
    /// and jobs stored before checkers existed still parse.
    #[test]
    fn an_inline_checker_is_stored_with_the_job() {
        let checker = job::InlineChecker {
            protocol: CheckerProtocol::Testlib,
            file: "checker.cpp".into(),
            source: "int main(){}".into(),
        };
        let spec = JobSpec {
            language: LanguageId::checked("c".into()),
            source: "x".into(),
            problem: ProblemSpec::Inline {
                tests: vec![],
                limits: Limits { time_limit: 1.0, memory_mib: 64, output_mib: 64 },
                validator_flags: vec![],
                checker: Some(checker),
            },
            run_all: false,
        };
        let stored = spec.to_json();
        assert!(stored.contains(r#""checker":{"protocol":"testlib","file":"checker.cpp""#), "{stored}");
        let ProblemSpec::Inline { checker: Some(back), .. } = JobSpec::from_json(&stored).unwrap().problem else {
            panic!("the checker was lost: {stored}");
        };
        assert_eq!((back.protocol, back.source.as_str()), (CheckerProtocol::Testlib, "int main(){}"));
        let old =
            stored.replace(r#","checker":{"protocol":"testlib","file":"checker.cpp","source":"int main(){}"}"#, "");
        let ProblemSpec::Inline { checker: None, .. } = JobSpec::from_json(&old).unwrap().problem else {
            panic!("an old job without a checker: {old}");
        };
    }

    #[test]
    fn bad_validator_flags_are_named() {
        let e = validator_flags(Some(json!({"case_insensitive": true}))).unwrap_err();
        assert!(e.message.contains("case_insensitive"), "{}", e.message);
        let e = validator_flags(Some(json!(["float_tolerance"]))).unwrap_err();
        assert!(e.message.contains("float_tolerance"), "{}", e.message);
        let e = validator_flags(Some(json!({"float_tolerance": -1}))).unwrap_err();
        assert!(e.message.contains("non-negative"), "{}", e.message);
        assert!(validator_flags(Some(json!(3))).is_err());
    }
}
