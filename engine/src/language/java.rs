//! Java's class name, read from the source: the file must be named after it.

/// The class name Java needs: the first `public class X` (or any
/// `class X`), else `Main`. Comments and string, text-block and char
/// literals are skipped, and so is `X.class`.
pub fn class_name(source: &str) -> String {
    let code = java_code_only(source);
    let tokens = java_words(&code);
    let after_class = |want_public: bool| {
        tokens.windows(2).enumerate().find_map(|(i, pair)| {
            let [(word, after_dot), (name, _)] = pair else { return None };
            let public = tokens[..i].iter().rev().take(3).any(|(t, _)| *t == "public");
            (*word == "class" && !after_dot && (!want_public || public) && is_identifier(name))
                .then(|| name.to_string())
        })
    };
    after_class(true).or_else(|| after_class(false)).unwrap_or_else(|| "Main".into())
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_alphabetic() || c == '_' || c == '$')
        && chars.all(|c| c.is_alphanumeric() || c == '_' || c == '$')
}

/// Java source with every comment and string, text-block and char literal
/// replaced by a space, so that words inside them are not read as code.
fn java_code_only(source: &str) -> String {
    let chars: Vec<char> = source.chars().collect();
    let at = |i: usize, text: &str| text.chars().enumerate().all(|(k, c)| chars.get(i + k) == Some(&c));
    let mut code = String::with_capacity(source.len());
    let mut i = 0;
    while i < chars.len() {
        if at(i, "//") {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if at(i, "/*") {
            i += 2;
            while i < chars.len() && !at(i, "*/") {
                i += 1;
            }
            i += 2;
        } else if at(i, "\"\"\"") {
            i += 3;
            while i < chars.len() && !at(i, "\"\"\"") {
                i += if chars[i] == '\\' { 2 } else { 1 };
            }
            i += 3;
        } else if chars[i] == '"' || chars[i] == '\'' {
            let quote = chars[i];
            i += 1;
            while i < chars.len() && chars[i] != quote && chars[i] != '\n' {
                i += if chars[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
        } else {
            code.push(chars[i]);
            i += 1;
            continue;
        }
        code.push(' ');
    }
    code
}

/// The words (identifier-like runs) of Java code, each with whether a `.`
/// comes right before it (as in `Foo.class`).
fn java_words(code: &str) -> Vec<(&str, bool)> {
    let is_word_char = |c: char| c.is_alphanumeric() || c == '_' || c == '$';
    let mut words = Vec::new();
    let mut last_symbol = None;
    let mut start = None;
    for (i, c) in code.char_indices().chain(std::iter::once((code.len(), ' '))) {
        match (is_word_char(c), start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                words.push((&code[s..i], last_symbol == Some('.')));
                start = None;
                last_symbol = None;
            }
            _ => {}
        }
        if !is_word_char(c) && !c.is_whitespace() {
            last_symbol = Some(c);
        }
    }
    words
}

#[cfg(test)]
mod tests {
    use super::class_name;

    #[test]
    fn java_class_name_skips_comments_literals_and_class_literals() {
        assert_eq!(class_name("// public class Foo\npublic class Bar {}"), "Bar");
        assert_eq!(class_name("/* class Bar */ class Real {}"), "Real");
        assert_eq!(class_name("/** public class Doc\n * end */\npublic class Real {}"), "Real");
        assert_eq!(class_name("class A { String s = \"public class Fake {\"; }"), "A");
        assert_eq!(class_name("class A { String s = \"\\\" public class Fake\"; }"), "A");
        assert_eq!(class_name("class A { char q = '\"'; String s = \"public class Fake\"; }"), "A");
        assert_eq!(class_name("class A { String t = \"\"\"\n  public class Fake\n  \"\"\"; }"), "A");
        assert_eq!(class_name("interface I { Class<?> c = I.class; }\nclass Real {}"), "Real");
        // Unterminated comments and strings end the source without a panic.
        assert_eq!(class_name("public class Ok {} /* open"), "Ok");
        assert_eq!(class_name("class Ok { String s = \"open"), "Ok");
        assert_eq!(class_name("\"\"\"\\"), "Main");
    }
}
