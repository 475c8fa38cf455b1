//! The glob patterns of `submissions.yaml` (2023-07): `*` matches within one path
//! segment, `{a,b}` expands to alternatives, and a path is matched when it or one of
//! its parent directories is.

/// Whether `pattern` matches `path` (both `/`-separated) or one of its ancestors.
pub fn matches_path_or_parent(pattern: &str, path: &str) -> bool {
    let alternatives = expand_braces(pattern);
    let segments: Vec<&str> = path.split('/').collect();
    (1..=segments.len()).any(|n| {
        let prefix = segments[..n].join("/");
        alternatives.iter().any(|alt| matches(alt, &prefix))
    })
}

/// `a{b,c}d` → `abd`, `acd`; nested braces expand from the inside out.
fn expand_braces(pattern: &str) -> Vec<String> {
    let Some(open) = pattern.find('{') else { return vec![pattern.to_string()] };
    let mut depth = 0;
    let mut close = None;
    for (i, c) in pattern[open..].char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    close = Some(open + i);
                    break;
                }
            }
            _ => {}
        }
    }
    // An unbalanced brace is taken literally.
    let Some(close) = close else { return vec![pattern.to_string()] };
    let (head, body, tail) = (&pattern[..open], &pattern[open + 1..close], &pattern[close + 1..]);
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (i, c) in body.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&body[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&body[start..]);
    parts.into_iter().flat_map(|part| expand_braces(&format!("{head}{part}{tail}"))).collect()
}

/// Segment-wise match: same number of segments, `*` never crosses a `/`.
fn matches(pattern: &str, path: &str) -> bool {
    let pattern: Vec<&str> = pattern.trim_end_matches('/').split('/').collect();
    let path: Vec<&str> = path.split('/').collect();
    pattern.len() == path.len() && pattern.iter().zip(&path).all(|(p, s)| segment_matches(p.as_bytes(), s.as_bytes()))
}

fn segment_matches(pattern: &[u8], text: &[u8]) -> bool {
    match pattern.split_first() {
        None => text.is_empty(),
        Some((b'*', rest)) => (0..=text.len()).any(|skip| segment_matches(rest, &text[skip..])),
        Some((c, rest)) => text.first() == Some(c) && segment_matches(rest, &text[1..]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_directory_matches_everything_under_it() {
        assert!(matches_path_or_parent("accepted", "accepted/sum.c"));
        assert!(matches_path_or_parent("accepted/*", "accepted/sum.c"));
        assert!(!matches_path_or_parent("accepted", "wrong_answer/sum.c"));
        assert!(!matches_path_or_parent("acc", "accepted/sum.c"));
    }

    #[test]
    fn star_stays_within_a_segment() {
        assert!(matches_path_or_parent("secret/*-easy", "secret/03-easy"));
        assert!(!matches_path_or_parent("secret/*-easy", "secret/03-hard"));
        assert!(!matches_path_or_parent("*", "secret/group1/01") || matches_path_or_parent("*", "secret"));
        assert!(!matches_path_or_parent("secret/*", "sample/1"));
        assert!(matches_path_or_parent("secret/*", "secret/group1/01"));
    }

    #[test]
    fn braces_give_alternatives() {
        assert!(matches_path_or_parent("accepted/author.{py,cpp}", "accepted/author.cpp"));
        assert!(matches_path_or_parent("accepted/{simple,complex}.py", "accepted/simple.py"));
        assert!(!matches_path_or_parent("accepted/{simple,complex}.py", "accepted/other.py"));
        assert!(matches_path_or_parent("{a,b{c,d}}/x", "bd/x"));
        assert!(matches_path_or_parent("a{/x", "a{/x"));
    }
}
