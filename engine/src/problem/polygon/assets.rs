//! Pieces of a Polygon package with fixed meanings: standard checkers, path patterns
//! and solution tags.

/// Default-validator flags equivalent to a testlib standard checker (`std::wcmp.cpp`
/// or `wcmp`), or `None` for one this judge has no equivalent of.
///
/// Token compares are case-sensitive like testlib's; `lcmp` and `fcmp` compare lines,
/// so they keep whitespace (`space_change_sensitive`); `rcmpN` accepts an absolute or
/// relative error of 10^-N, `rcmp`/`dcmp` of 1.5e-6 / 1e-6; `yesno`/`nyesno` ignore case.
pub(super) fn standard_checker_flags(name: &str) -> Option<Vec<String>> {
    let short = name.strip_prefix("std::").unwrap_or(name);
    let short = short.strip_suffix(".cpp").unwrap_or(short);
    let flags: &[&str] = match short {
        "wcmp" | "ncmp" | "icmp" | "hcmp" => &["case_sensitive"],
        "lcmp" | "fcmp" => &["case_sensitive", "space_change_sensitive"],
        "yesno" | "nyesno" => &[],
        "rcmp" => &["float_tolerance 1.5e-6"],
        "dcmp" => &["float_tolerance 1e-6"],
        "rcmp4" => &["float_tolerance 1e-4"],
        "rcmp6" => &["float_tolerance 1e-6"],
        "rcmp9" => &["float_tolerance 1e-9"],
        _ => return None,
    };
    Some(flags.iter().map(|f| f.to_string()).collect())
}

/// A path pattern with one printf integer conversion (`tests/%02d`, `%d.a`) filled in
/// with `index`; `None` for a pattern this judge does not understand.
pub(super) fn fill_pattern(pattern: &str, index: usize) -> Option<String> {
    let start = pattern.find('%')?;
    let rest = &pattern[start + 1..];
    let spec: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
    let after = rest[spec.len()..].strip_prefix('d')?;
    if after.contains('%') || spec.len() > 2 {
        return None;
    }
    let width: usize = if spec.is_empty() { 0 } else { spec.parse().ok()? };
    let number = if spec.starts_with('0') { format!("{index:0width$}") } else { format!("{index:width$}") };
    Some(format!("{}{number}{after}", &pattern[..start]))
}

/// The `submissions/<kind>` kind `judge verify` checks a Polygon solution tag as.
/// Tags that promise something this judge cannot check keep their own name, which
/// promises nothing.
pub(super) fn solution_kind(tag: &str) -> String {
    match tag {
        "main" | "accepted" => "accepted",
        "wrong-answer" | "presentation-error" => "wrong_answer",
        "time-limit-exceeded" => "time_limit_exceeded",
        "memory-limit-exceeded" => "memory_limit_exceeded",
        "rejected" | "failed" => "not_accepted",
        other => other,
    }
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_checkers_map_to_default_validator_flags() {
        assert_eq!(standard_checker_flags("std::wcmp.cpp").unwrap(), ["case_sensitive"]);
        assert_eq!(standard_checker_flags("std::rcmp6.cpp").unwrap(), ["float_tolerance 1e-6"]);
        assert_eq!(standard_checker_flags("rcmp9").unwrap(), ["float_tolerance 1e-9"]);
        assert!(standard_checker_flags("std::yesno.cpp").unwrap().is_empty());
        assert_eq!(standard_checker_flags("std::acmp.cpp"), None);
        assert_eq!(standard_checker_flags("std::mystery.cpp"), None);
        for name in ["wcmp", "lcmp", "fcmp", "rcmp", "rcmp4", "dcmp"] {
            crate::validate::Flags::parse(&standard_checker_flags(name).unwrap()).unwrap();
        }
    }

    #[test]
    fn patterns_take_one_integer() {
        assert_eq!(fill_pattern("tests/%02d", 7).unwrap(), "tests/07");
        assert_eq!(fill_pattern("tests/%02d.a", 12).unwrap(), "tests/12.a");
        assert_eq!(fill_pattern("tests/%d", 3).unwrap(), "tests/3");
        assert_eq!(fill_pattern("tests/%03d", 3).unwrap(), "tests/003");
        assert_eq!(fill_pattern("tests/%s", 3), None);
        assert_eq!(fill_pattern("tests/%d-%d", 3), None);
        assert_eq!(fill_pattern("tests/%0999999d", 3), None);
        assert_eq!(fill_pattern("tests/01", 3), None);
    }

    #[test]
    fn solution_tags_become_verify_kinds() {
        assert_eq!(solution_kind("main"), "accepted");
        assert_eq!(solution_kind("accepted"), "accepted");
        assert_eq!(solution_kind("wrong-answer"), "wrong_answer");
        assert_eq!(solution_kind("time-limit-exceeded"), "time_limit_exceeded");
        assert_eq!(solution_kind("memory-limit-exceeded"), "memory_limit_exceeded");
        assert_eq!(solution_kind("rejected"), "not_accepted");
        assert_eq!(solution_kind("time-limit-exceeded-or-accepted"), "time-limit-exceeded-or-accepted");
    }
}
