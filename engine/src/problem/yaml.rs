//! Reading YAML files of a package: key lookups whose errors name the file and the key.

use std::path::Path;

use serde_yaml_ng::Value;

use super::{invalid, ProblemError};
use crate::package_fs::PackageDir;

/// A short description of a YAML value for error messages.
pub(super) fn describe(v: &Value) -> String {
    match v {
        Value::Null => "nothing".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => {
            let short: String = s.chars().take(60).collect();
            format!("{short:?}")
        }
        Value::Sequence(_) => "a list".into(),
        Value::Mapping(_) => "a map".into(),
        Value::Tagged(t) => format!("a value tagged {}", t.tag),
    }
}

/// Deepest `[`/`{` nesting accepted: the YAML scanner takes time quadratic in it.
pub(super) const MAX_FLOW_DEPTH: usize = 64;
/// Most `[` and `{` accepted in one file, quoted or not: bounds the scanner's work even
/// where quoting would hide nesting from [`check_nesting`].
pub(super) const MAX_FLOW_OPENERS: usize = 10_000;

/// Reads the YAML file `rel` of the package into a map value; a missing file is `None`,
/// an empty one an empty map.
pub(super) fn read_yaml(pkg: &PackageDir, rel: &str) -> Result<Option<Value>, ProblemError> {
    let Some(bytes) = pkg.read_config(Path::new(rel))? else { return Ok(None) };
    let path = pkg.path().join(rel);
    let text = String::from_utf8(bytes).map_err(|_| invalid(format!("{}: not UTF-8 text", path.display())))?;
    check_nesting(&text).map_err(|why| invalid(format!("{}: invalid YAML: {why}", path.display())))?;
    let value: Value =
        serde_yaml_ng::from_str(&text).map_err(|e| invalid(format!("{}: invalid YAML: {e}", path.display())))?;
    match value {
        Value::Null => Ok(Some(Value::Mapping(Default::default()))),
        Value::Mapping(_) => Ok(Some(value)),
        other => Err(invalid(format!("{}: expected a map of keys, got {}", path.display(), describe(&other)))),
    }
}

/// Refuses flow collections nested deeper than [`MAX_FLOW_DEPTH`] or more than
/// [`MAX_FLOW_OPENERS`] brackets in all, before the parser sees them. Brackets are
/// counted even inside quotes and comments: that can only refuse more.
pub(super) fn check_nesting(text: &str) -> Result<(), String> {
    let (mut depth, mut openers, mut line) = (0usize, 0usize, 1usize);
    for b in text.bytes() {
        match b {
            b'[' | b'{' => {
                depth += 1;
                openers += 1;
                if depth > MAX_FLOW_DEPTH {
                    return Err(format!("lists or maps nested more than {MAX_FLOW_DEPTH} deep (line {line})"));
                }
                if openers > MAX_FLOW_OPENERS {
                    return Err(format!("more than {MAX_FLOW_OPENERS} '[' and '{{' (line {line})"));
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            b'\n' => line += 1,
            _ => {}
        }
    }
    Ok(())
}

/// Key lookups on a YAML map that produce errors naming the file and the key.
pub(super) struct Doc<'a> {
    pub(super) file: &'a Path,
}

impl Doc<'_> {
    pub(super) fn err(&self, key: &str, want: &str, v: &Value) -> ProblemError {
        invalid(format!("{}: {key}: expected {want}, got {}", self.file.display(), describe(v)))
    }

    /// `map[key]`, treating an explicit null as absent.
    pub(super) fn get<'v>(&self, map: &'v Value, key: &str) -> Option<&'v Value> {
        map.get(key).filter(|v| !v.is_null())
    }

    pub(super) fn map<'v>(&self, map: &'v Value, key: &str) -> Result<Option<&'v Value>, ProblemError> {
        match self.get(map, key) {
            None => Ok(None),
            Some(v @ Value::Mapping(_)) => Ok(Some(v)),
            Some(v) => Err(self.err(key, "a map", v)),
        }
    }

    pub(super) fn string(&self, map: &Value, key: &str, path: &str) -> Result<Option<String>, ProblemError> {
        match self.get(map, key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(Value::Bool(b)) => Ok(Some(b.to_string())),
            Some(v) => Err(self.err(path, "a string", v)),
        }
    }

    pub(super) fn number(&self, map: &Value, key: &str, path: &str) -> Result<Option<f64>, ProblemError> {
        let Some(v) = self.get(map, key) else { return Ok(None) };
        let n = match v {
            Value::Number(n) => n.as_f64(),
            Value::String(s) => s.trim().parse::<f64>().ok(),
            _ => None,
        };
        match n {
            Some(n) if n.is_finite() => Ok(Some(n)),
            _ => Err(self.err(path, "a number", v)),
        }
    }

    /// A number in `(0, max]`, `unit` naming what it counts for the error message.
    pub(super) fn positive_up_to(
        &self,
        map: &Value,
        key: &str,
        path: &str,
        max: f64,
        unit: &str,
    ) -> Result<Option<f64>, ProblemError> {
        match self.number(map, key, path)? {
            Some(n) if n <= 0.0 || n > max => {
                let v = self.get(map, key).cloned().unwrap_or(Value::Null);
                Err(self.err(path, &format!("a positive number of {unit}, at most {max}"), &v))
            }
            n => Ok(n),
        }
    }

    /// Validator arguments: a whitespace-separated string or a list of scalars.
    pub(super) fn args(&self, v: &Value, path: &str) -> Result<Vec<String>, ProblemError> {
        match v {
            Value::String(s) => Ok(s.split_whitespace().map(String::from).collect()),
            Value::Number(n) => Ok(vec![n.to_string()]),
            Value::Sequence(items) => items
                .iter()
                .map(|item| match item {
                    Value::String(s) => Ok(s.clone()),
                    Value::Number(n) => Ok(n.to_string()),
                    Value::Bool(b) => Ok(b.to_string()),
                    other => Err(self.err(path, "a list of strings", other)),
                })
                .collect(),
            other => Err(self.err(path, "a string or a list of strings", other)),
        }
    }

    /// `output_validator_flags` / `output_validator_args` of a testdata.yaml or per-test yaml.
    pub(super) fn validator_args(&self, map: &Value) -> Result<Option<Vec<String>>, ProblemError> {
        if let Some(v) = self.get(map, "output_validator_args") {
            return self.args(v, "output_validator_args").map(Some);
        }
        match self.get(map, "output_validator_flags") {
            None => Ok(None),
            // Legacy map form: {name: VALIDATOR, flags: "..."}.
            Some(m @ Value::Mapping(_)) => match self.get(m, "flags") {
                None => Ok(Some(Vec::new())),
                Some(f) => self.args(f, "output_validator_flags.flags").map(Some),
            },
            Some(v) => self.args(v, "output_validator_flags").map(Some),
        }
    }
}
