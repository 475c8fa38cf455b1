//! The default output validator (token compare with the Kattis flags).
//!
//! Behaves like problemtools' `default_validator`:
//! - both files are split into tokens on whitespace (space, `\t`, `\n`, `\v`, `\f`, `\r`);
//! - tokens compare case-insensitively (ASCII only) unless `case_sensitive`;
//! - with `space_change_sensitive` every whitespace run (leading, between tokens and
//!   trailing) must be byte-for-byte the same as in the answer;
//! - with a float tolerance, an answer token that is a decimal floating-point number
//!   (the grammar of the 2023-07 spec: `[+-]? (d* . d+ | d+ . | d+) ([eE] [+-]? d+)?`,
//!   finite) requires an output token that is such a number too, within the absolute
//!   OR the relative tolerance; other answer tokens compare as strings;
//! - missing or extra output tokens are wrong answers.
//!
//! The compare works on the two byte slices directly, in one linear pass, and allocates
//! nothing but the judge message.

/// The flags that stand alone.
pub const SWITCH_FLAGS: [&str; 2] = ["case_sensitive", "space_change_sensitive"];
/// The flags followed by a non-negative number.
pub const TOLERANCE_FLAGS: [&str; 3] = ["float_relative_tolerance", "float_absolute_tolerance", "float_tolerance"];

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Flags {
    pub case_sensitive: bool,
    pub space_change_sensitive: bool,
    pub float_absolute: Option<f64>,
    pub float_relative: Option<f64>,
}

impl Flags {
    /// Parses the Kattis default-validator flags. Arguments holding whitespace are split
    /// (so `["float_tolerance 1e-6"]` works too); empty ones are skipped. A later
    /// tolerance overrides an earlier one; `float_tolerance` sets both.
    pub fn parse(flags: &[String]) -> Result<Flags, String> {
        let mut out = Flags::default();
        let mut words = flags.iter().flat_map(|f| f.split_whitespace());
        while let Some(word) = words.next() {
            match word {
                "case_sensitive" => out.case_sensitive = true,
                "space_change_sensitive" => out.space_change_sensitive = true,
                "float_relative_tolerance" | "float_absolute_tolerance" | "float_tolerance" => {
                    let value = words.next().ok_or_else(|| format!("validator flag {word}: missing its number"))?;
                    let eps = value.parse::<f64>().ok().filter(|e| e.is_finite() && *e >= 0.0).ok_or_else(|| {
                        format!("validator flag {word}: expected a non-negative number, got {value:?}")
                    })?;
                    match word {
                        "float_relative_tolerance" => out.float_relative = Some(eps),
                        "float_absolute_tolerance" => out.float_absolute = Some(eps),
                        _ => {
                            out.float_relative = Some(eps);
                            out.float_absolute = Some(eps);
                        }
                    }
                }
                other => {
                    let tolerances = TOLERANCE_FLAGS.map(|f| format!("{f} E"));
                    return Err(format!(
                        "unknown validator flag {other:?} (known: {}, {})",
                        SWITCH_FLAGS.join(", "),
                        tolerances.join(", ")
                    ));
                }
            }
        }
        Ok(out)
    }

    /// Whether floating-point tokens are compared with a tolerance.
    pub fn uses_floats(&self) -> bool {
        self.float_absolute.is_some() || self.float_relative.is_some()
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    Accepted,
    /// With a short judge message naming where output and answer differ.
    WrongAnswer(String),
}

/// How many characters of a token a judge message shows.
const SHOW_CHARS: usize = 50;

/// Whitespace as C's `isspace` in the "C" locale.
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// A reading position in one of the two files.
struct Cursor<'a> {
    data: &'a [u8],
    pos: usize,
    /// 1-based line of `pos`.
    line: usize,
}

impl<'a> Cursor<'a> {
    fn new(data: &'a [u8]) -> Self {
        Cursor { data, pos: 0, line: 1 }
    }

    fn take_space(&mut self) -> &'a [u8] {
        let start = self.pos;
        while self.pos < self.data.len() && is_space(self.data[self.pos]) {
            if self.data[self.pos] == b'\n' {
                self.line += 1;
            }
            self.pos += 1;
        }
        &self.data[start..self.pos]
    }

    fn take_token(&mut self) -> Option<&'a [u8]> {
        let start = self.pos;
        while self.pos < self.data.len() && !is_space(self.data[self.pos]) {
            self.pos += 1;
        }
        (self.pos > start).then(|| &self.data[start..self.pos])
    }
}

/// A quoted, escaped, truncated rendering of some bytes for a judge message.
fn show(bytes: &[u8]) -> String {
    // Never decode more than a few bytes per shown character.
    let head = &bytes[..bytes.len().min(SHOW_CHARS * 4)];
    let text = String::from_utf8_lossy(head);
    let mut chars = text.chars();
    let mut shown: String = chars.by_ref().take(SHOW_CHARS).collect();
    if chars.next().is_some() || head.len() < bytes.len() {
        shown.push_str("...");
    }
    format!("{shown:?}")
}

/// Parses a token as a finite decimal floating-point number (2023-07 grammar).
/// `inf`, `nan`, hex floats and numbers that overflow to infinity are not floats,
/// as in problemtools.
pub fn parse_float(token: &[u8]) -> Option<f64> {
    let mut i = 0;
    let n = token.len();
    if i < n && (token[i] == b'+' || token[i] == b'-') {
        i += 1;
    }
    let int_start = i;
    while i < n && token[i].is_ascii_digit() {
        i += 1;
    }
    let int_digits = i - int_start;
    let mut frac_digits = 0;
    if i < n && token[i] == b'.' {
        i += 1;
        let frac_start = i;
        while i < n && token[i].is_ascii_digit() {
            i += 1;
        }
        frac_digits = i - frac_start;
    }
    if int_digits == 0 && frac_digits == 0 {
        return None;
    }
    if i < n && (token[i] == b'e' || token[i] == b'E') {
        i += 1;
        if i < n && (token[i] == b'+' || token[i] == b'-') {
            i += 1;
        }
        let exp_start = i;
        while i < n && token[i].is_ascii_digit() {
            i += 1;
        }
        if i == exp_start {
            return None;
        }
    }
    if i != n {
        return None;
    }
    // The grammar above is plain ASCII, which Rust's parser accepts in full.
    let value: f64 = std::str::from_utf8(token).ok()?.parse().ok()?;
    value.is_finite().then_some(value)
}

/// Compares the team's output against the answer file.
pub fn compare(answer: &[u8], output: &[u8], flags: &Flags) -> Outcome {
    let mut ans = Cursor::new(answer);
    let mut out = Cursor::new(output);
    let floats = flags.uses_floats();
    let mut token = 0usize;
    loop {
        token += 1;
        let ans_space = ans.take_space();
        let out_space = out.take_space();
        if flags.space_change_sensitive && ans_space != out_space {
            let place = if ans.pos == answer.len() && out.pos == output.len() {
                "trailing whitespace".to_string()
            } else if token == 1 {
                "leading whitespace".to_string()
            } else {
                format!("whitespace after token {}", token - 1)
            };
            return wrong(format!("{place}: expected {}, got {}", show(ans_space), show(out_space)), &ans, &out);
        }
        let a = ans.take_token();
        let o = out.take_token();
        let (a, o) = match (a, o) {
            (None, None) => return Outcome::Accepted,
            (Some(a), None) => {
                let what = if output.is_empty() {
                    "end of output (the output is empty)"
                } else if token == 1 {
                    "end of output (the output has no tokens)"
                } else {
                    "end of output"
                };
                return wrong(format!("token {token}: expected {}, got {what}", show(a)), &ans, &out);
            }
            (None, Some(o)) => {
                return wrong(format!("token {token}: expected end of output, got {}", show(o)), &ans, &out);
            }
            (Some(a), Some(o)) => (a, o),
        };
        if floats {
            if let Some(av) = parse_float(a) {
                let Some(ov) = parse_float(o) else {
                    return wrong(
                        format!("token {token}: expected {}, got {} (not a number)", show(a), show(o)),
                        &ans,
                        &out,
                    );
                };
                let diff = (av - ov).abs();
                let abs_ok = flags.float_absolute.is_some_and(|e| diff <= e);
                let rel_ok = flags.float_relative.is_some_and(|e| diff <= e * av.abs());
                if !abs_ok && !rel_ok {
                    return wrong(
                        format!(
                            "token {token}: expected {}, got {} (difference {diff:e} exceeds the tolerance)",
                            show(a),
                            show(o)
                        ),
                        &ans,
                        &out,
                    );
                }
                continue;
            }
        }
        let same = if flags.case_sensitive { a == o } else { a.eq_ignore_ascii_case(o) };
        if !same {
            return wrong(format!("token {token}: expected {}, got {}", show(a), show(o)), &ans, &out);
        }
    }
}

fn wrong(message: String, ans: &Cursor, out: &Cursor) -> Outcome {
    Outcome::WrongAnswer(format!("{message} (output line {}, answer line {})", out.line, ans.line))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags(s: &str) -> Flags {
        Flags::parse(&s.split_whitespace().map(String::from).collect::<Vec<_>>()).unwrap()
    }

    fn ok(ans: &str, out: &str, f: &str) -> bool {
        compare(ans.as_bytes(), out.as_bytes(), &flags(f)) == Outcome::Accepted
    }

    fn msg(ans: &str, out: &str, f: &str) -> String {
        match compare(ans.as_bytes(), out.as_bytes(), &flags(f)) {
            Outcome::Accepted => panic!("expected WA for {ans:?} vs {out:?}"),
            Outcome::WrongAnswer(m) => m,
        }
    }

    #[test]
    fn parse_flags() {
        assert_eq!(flags(""), Flags::default());
        let f = flags("case_sensitive space_change_sensitive");
        assert!(f.case_sensitive && f.space_change_sensitive && !f.uses_floats());
        let f = flags("float_tolerance 1e-6");
        assert_eq!((f.float_absolute, f.float_relative), (Some(1e-6), Some(1e-6)));
        let f = flags("float_relative_tolerance 0.5");
        assert_eq!((f.float_absolute, f.float_relative), (None, Some(0.5)));
        let f = flags("float_absolute_tolerance 2");
        assert_eq!((f.float_absolute, f.float_relative), (Some(2.0), None));
        let f = flags("float_tolerance 1 float_absolute_tolerance 3");
        assert_eq!((f.float_absolute, f.float_relative), (Some(3.0), Some(1.0)));
        // Arguments holding spaces and empty ones.
        let f = Flags::parse(&["float_tolerance 0.1".into(), "".into(), " case_sensitive ".into()]).unwrap();
        assert_eq!(f.float_absolute, Some(0.1));
        assert!(f.case_sensitive);
    }

    #[test]
    fn parse_flag_errors() {
        let err = |s: &str| Flags::parse(&s.split_whitespace().map(String::from).collect::<Vec<_>>()).unwrap_err();
        assert!(err("case_insensitive").contains("\"case_insensitive\""));
        assert!(err("float_tolerance").contains("float_tolerance"));
        assert!(err("float_tolerance").contains("missing"));
        let e = err("float_relative_tolerance abc");
        assert!(e.contains("float_relative_tolerance") && e.contains("\"abc\""), "{e}");
        assert!(err("float_absolute_tolerance -1").contains("float_absolute_tolerance"));
        assert!(err("float_absolute_tolerance nan").contains("float_absolute_tolerance"));
        assert!(err("float_absolute_tolerance inf").contains("float_absolute_tolerance"));
    }

    #[test]
    fn float_grammar() {
        for s in ["0", "-1", "+1", "1.", ".5", "-.5", "1.5e10", "1E-3", "1e+3", "007", "3.14000000e-2"] {
            assert!(parse_float(s.as_bytes()).is_some(), "{s}");
        }
        for s in [
            "", "+", "-", ".", "e5", "1e", "1e+", "1.5.2", "inf", "-inf", "nan", "NaN", "0x10", "1,5", "1e400", "1f",
            "--1", "1 ",
        ] {
            assert!(parse_float(s.as_bytes()).is_none(), "{s}");
        }
        assert_eq!(parse_float(b"3.14000000e-2"), Some(0.0314));
        assert_eq!(parse_float(b"-.5"), Some(-0.5));
    }

    #[test]
    fn exact_and_whitespace_insensitive() {
        assert!(ok("42\n", "42\n", ""));
        assert!(ok("42\n", "42", ""));
        assert!(ok("1 2 3\n", "  1\n2\t\t3  \r\n\n", ""));
        assert!(ok("a\x0bb\x0cc", "a b c", ""));
        assert!(ok("", "", ""));
        assert!(ok("", "\n\n  ", ""));
        assert!(ok("\n", "", ""));
        assert!(!ok("1 2", "12", ""));
        assert!(!ok("12", "1 2", ""));
    }

    #[test]
    fn case() {
        assert!(ok("Yes\n", "YES\n", ""));
        assert!(ok("Yes\n", "yes\n", ""));
        assert!(!ok("Yes\n", "yes\n", "case_sensitive"));
        assert!(ok("Yes\n", "Yes\n", "case_sensitive"));
        // Only ASCII folds.
        assert!(!ok("É", "é", ""));
    }

    #[test]
    fn messages() {
        let m = msg("1 2 42\n", "1 2 41\n", "");
        assert!(m.starts_with("token 3: expected \"42\", got \"41\""), "{m}");
        let m = msg("1\n2\n3\n", "1\n2\n", "");
        assert!(m.starts_with("token 3: expected \"3\", got end of output"), "{m}");
        let m = msg("1\n", "1\n2\n", "");
        assert!(m.starts_with("token 2: expected end of output, got \"2\""), "{m}");
        let m = msg("1\n", "", "");
        assert!(m.contains("empty"), "{m}");
        let m = msg("1\n", " \n", "");
        assert!(m.contains("no tokens"), "{m}");
        let m = msg("a\nb\nc\n", "a\nb\nd\n", "");
        assert!(m.contains("output line 3, answer line 3"), "{m}");
        // Quotes and control characters are escaped.
        let m = msg("x", "\"\x01", "");
        assert!(m.contains(r#"got "\"\u{1}""#), "{m}");
    }

    #[test]
    fn truncation() {
        let long = "x".repeat(10_000);
        let m = msg("y", &long, "");
        assert!(m.len() < 200, "{m}");
        assert!(m.contains(&format!("\"{}...\"", "x".repeat(SHOW_CHARS))), "{m}");
        // Multi-byte characters are cut on a character boundary.
        let long = "é".repeat(1000);
        let m = msg("y", &long, "");
        assert!(m.contains(&format!("\"{}...\"", "é".repeat(SHOW_CHARS))), "{m}");
        // Invalid UTF-8 still shows something.
        let out = compare(b"a", b"\xff\xfe", &Flags::default());
        assert!(matches!(out, Outcome::WrongAnswer(m) if m.contains('\u{fffd}')));
    }

    #[test]
    fn space_change_sensitive() {
        let f = "space_change_sensitive";
        assert!(ok("1 2\n", "1 2\n", f));
        assert!(!ok("1 2\n", "1  2\n", f));
        assert!(!ok("1 2\n", "1\n2\n", f));
        assert!(!ok("1 2\n", "1 2", f));
        assert!(!ok("1 2", "1 2\n", f));
        assert!(!ok("1 2\n", " 1 2\n", f));
        assert!(ok("", "", f));
        assert!(!ok("", " ", f));
        let m = msg("1 2\n", "1 2", f);
        assert!(m.starts_with("trailing whitespace: expected \"\\n\", got \"\""), "{m}");
        let m = msg("1 2\n", "1\t2\n", f);
        assert!(m.starts_with("whitespace after token 1: expected \" \", got \"\\t\""), "{m}");
        let m = msg("1\n", " 1\n", f);
        assert!(m.starts_with("leading whitespace"), "{m}");
        // Still case-insensitive unless asked.
        assert!(ok("Yes\n", "yes\n", f));
    }

    #[test]
    fn floats_absolute_and_relative() {
        let f = "float_absolute_tolerance 0.01";
        assert!(ok("1.0", "1.009", f));
        assert!(ok("1.0", "0.991", f));
        assert!(!ok("1.0", "1.02", f));
        assert!(ok("1000", "1000.005", f));
        assert!(!ok("1000", "1000.5", f));
        let f = "float_relative_tolerance 0.01";
        assert!(ok("1000", "1009", f));
        assert!(!ok("1000", "1011", f));
        assert!(!ok("0", "0.0000001", f));
        assert!(ok("0", "0.0", f));
        // Either tolerance suffices.
        let f = "float_tolerance 1e-6";
        assert!(ok("0.0314", "3.14000000e-2", f));
        assert!(ok("1000000", "1000000.9", f)); // relative
        assert!(ok("0", "0.0000009", f)); // absolute
        assert!(!ok("0", "0.000002", f));
        assert!(ok("-1.5", "-1.5000001", f));
        assert!(!ok("-1.5", "1.5", f));
        let m = msg("1.5", "1.7", "float_tolerance 1e-6");
        assert!(m.starts_with("token 1: expected \"1.5\", got \"1.7\" (difference"), "{m}");
    }

    #[test]
    fn floats_mixed_tokens() {
        let f = "float_tolerance 1e-6";
        // Answer token is a float: output must be one.
        let m = msg("1.5", "abc", f);
        assert!(m.contains("not a number"), "{m}");
        assert!(!ok("1.5", "1.5x", f));
        assert!(!ok("1.5", "inf", f));
        assert!(!ok("1.5", "nan", f));
        // Non-float answer tokens compare as strings (case-insensitive by default).
        assert!(ok("Case 1: 2.5", "case 1: 2.5000001", f));
        assert!(!ok("Case 1: 2.5", "case 1 2.5", f));
        assert!(ok("inf", "INF", f));
        assert!(!ok("inf", "1e400", f));
        assert!(!ok("Case", "case", &format!("{f} case_sensitive")));
        // Integers are floats too when a tolerance is set.
        assert!(ok("3", "3.0000000001", f));
        assert!(ok("3", "+3", f));
        // Without a tolerance, floats are plain strings.
        assert!(!ok("3", "3.0", ""));
        assert!(!ok("0.0314", "3.14e-2", ""));
    }

    #[test]
    fn large_output_is_fast() {
        // 64 MiB of output against a one-token answer, and a long matching run.
        let big = vec![b'1'; 64 << 20];
        let t = std::time::Instant::now();
        assert!(matches!(compare(b"1", &big, &Flags::default()), Outcome::WrongAnswer(_)));
        let mut ans = Vec::with_capacity(8 << 20);
        for i in 0..1_000_000u32 {
            ans.extend_from_slice(format!("{}.5\n", i).as_bytes());
        }
        let f = flags("float_tolerance 1e-9");
        assert_eq!(compare(&ans, &ans, &f), Outcome::Accepted);
        let mut out = ans.clone();
        out.extend_from_slice(b"extra\n");
        let m = match compare(&ans, &out, &f) {
            Outcome::WrongAnswer(m) => m,
            _ => panic!(),
        };
        assert!(m.starts_with("token 1000001: expected end of output"), "{m}");
        let spaces = vec![b' '; 32 << 20];
        assert_eq!(compare(b"", &spaces, &Flags::default()), Outcome::Accepted);
        assert!(t.elapsed().as_secs() < 20);
    }
}
