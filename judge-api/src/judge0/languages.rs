//! Judge0 CE's language ids mapped to this judge's languages, and the
//! `/languages` catalogue with the real toolchain versions of this host.
//!
//! Each of our languages answers to every CE id of the same toolchain
//! family (1.13.x ids and the newer 1.14 ones the official client's alias
//! table uses), so a client's hard-coded ids keep working.

use std::sync::Arc;

use engine::language::{Language, Languages};
use serde_json::{json, Value};

/// (Judge0 CE id, our language id, Judge0's name for it, with `{}` for the version).
const IDS: &[(u32, &str, &str)] = &[
    (48, "c", "C (GCC {})"),
    (49, "c", "C (GCC {})"),
    (50, "c", "C (GCC {})"),
    (103, "c", "C (GCC {})"),
    (52, "cpp", "C++ (GCC {})"),
    (53, "cpp", "C++ (GCC {})"),
    (54, "cpp", "C++ (GCC {})"),
    (105, "cpp", "C++ (GCC {})"),
    (51, "csharp", "C# (Mono {})"),
    (60, "go", "Go ({})"),
    (95, "go", "Go ({})"),
    (106, "go", "Go ({})"),
    (107, "go", "Go ({})"),
    (61, "haskell", "Haskell (GHC {})"),
    (62, "java", "Java (OpenJDK {})"),
    (91, "java", "Java (JDK {})"),
    (63, "javascript", "JavaScript (Node.js {})"),
    (93, "javascript", "JavaScript (Node.js {})"),
    (97, "javascript", "JavaScript (Node.js {})"),
    (102, "javascript", "JavaScript (Node.js {})"),
    (64, "lua", "Lua ({})"),
    (65, "ocaml", "OCaml ({})"),
    (67, "pascal", "Pascal (FPC {})"),
    (68, "php", "PHP ({})"),
    (98, "php", "PHP ({})"),
    (71, "python3", "Python ({})"),
    (92, "python3", "Python ({})"),
    (100, "python3", "Python ({})"),
    (109, "python3", "Python ({})"),
    (113, "python3", "Python ({})"),
    (72, "ruby", "Ruby ({})"),
    (73, "rust", "Rust ({})"),
    (108, "rust", "Rust ({})"),
    (78, "kotlin", "Kotlin ({})"),
    (111, "kotlin", "Kotlin ({})"),
    (85, "perl", "Perl ({})"),
];

/// Languages whose compile command starts with the compiler itself, so
/// `compiler_options` can go right after it.
pub const COMPILER_OPTIONS: &[&str] = &["c", "cpp", "rust", "haskell", "pascal", "ocaml"];

/// Languages Judge0 runs without a compile step: what our syntax check
/// prints ("Syntax OK") is not shown as `compile_output` unless it failed.
pub const INTERPRETED: &[&str] = &["python3", "javascript", "ruby", "php", "perl", "lua"];

/// One Judge0 language id this server answers to.
#[derive(Clone, Debug)]
pub struct Entry {
    pub id: u32,
    pub name: String,
    pub language: Language,
}

impl Entry {
    pub fn summary(&self) -> Value {
        json!({ "id": self.id, "name": self.name })
    }

    /// `GET /languages/{id}`, with our commands in Judge0's fields.
    pub fn detail(&self) -> Value {
        let source_file = self.language.source_name("");
        let compile_cmd = self.language.compile_command("").map(|c| c.join(" "));
        json!({
            "id": self.id,
            "name": self.name,
            "is_archived": false,
            "source_file": source_file,
            "compile_cmd": compile_cmd,
            "run_cmd": self.language.run_command("", 256).join(" "),
        })
    }
}

/// The Judge0 ids of the available languages, built once (running each
/// toolchain's version command takes a moment, the JVM ones most).
pub struct Catalog {
    pub entries: Vec<Entry>,
}

impl Catalog {
    pub fn build(languages: &Arc<Languages>) -> Catalog {
        let ours: Vec<&Language> = IDS
            .iter()
            .map(|(_, id, _)| *id)
            .filter_map(|id| languages.get(id))
            .filter(|l| l.unavailable_reason().is_none())
            .collect();
        // One version probe per language, in parallel.
        let mut versions = std::collections::HashMap::new();
        std::thread::scope(|scope| {
            let probes: Vec<_> = ours
                .iter()
                .map(|l| (l.id.clone(), scope.spawn(|| toolchain_version(l))))
                .collect::<Vec<_>>()
                .into_iter()
                .collect();
            for (id, probe) in probes {
                versions.insert(id, probe.join().ok().flatten());
            }
        });
        let entries = IDS
            .iter()
            .filter_map(|(judge0_id, ours, template)| {
                let language = languages.get(ours).filter(|l| l.unavailable_reason().is_none())?;
                let name = match versions.get(*ours).cloned().flatten() {
                    Some(version) => template.replace("{}", &version),
                    // No version to show: our own name for it.
                    None => language.name.clone(),
                };
                Some(Entry { id: *judge0_id, name, language: language.clone() })
            })
            .collect();
        Catalog { entries }
    }

    pub fn get(&self, id: u32) -> Option<&Entry> {
        self.entries.iter().find(|e| e.id == id)
    }

    /// Names of the languages that take `compiler_options` (for `/config_info`).
    pub fn compiler_option_languages(&self) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        for entry in self.entries.iter().filter(|e| COMPILER_OPTIONS.contains(&e.language.id.as_str())) {
            if !names.contains(&entry.name) {
                names.push(entry.name.clone());
            }
        }
        names
    }
}

/// Whether `id` is a Judge0 CE id of a language this judge has (available or not).
pub fn known_id(id: u32) -> Option<&'static str> {
    IDS.iter().find(|(i, _, _)| *i == id).map(|(_, ours, _)| *ours)
}

/// The toolchain's version, from its version command run on the host (a
/// trusted, installed binary, as the compile cache does).
fn toolchain_version(language: &Language) -> Option<String> {
    let (program, args) = language.version.as_ref()?.split_first()?;
    let out = std::process::Command::new(program).args(args).stdin(std::process::Stdio::null()).output().ok()?;
    let text = format!("{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    first_version(&text)
}

/// The first `N.N` or `N.N.N` in a version banner.
fn first_version(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i].is_ascii_digit()
            && (i == 0 || !bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'v' || bytes[i - 1] == b'o')
        {
            let start = i;
            let mut end = i;
            let mut dots = 0;
            while end < bytes.len() && (bytes[end].is_ascii_digit() || (bytes[end] == b'.' && dots < 2)) {
                if bytes[end] == b'.' {
                    if !bytes.get(end + 1).is_some_and(u8::is_ascii_digit) {
                        break;
                    }
                    dots += 1;
                }
                end += 1;
            }
            if dots >= 1 {
                return Some(text[start..end].to_string());
            }
            i = end.max(i + 1);
        } else {
            i += 1;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_from_banners() {
        assert_eq!(first_version("gcc (Debian 12.2.0-14) 12.2.0").as_deref(), Some("12.2.0"));
        assert_eq!(first_version("go version go1.19.8 linux/amd64").as_deref(), Some("1.19.8"));
        assert_eq!(first_version("This is perl 5, version 36, subversion 0 (v5.36.0)").as_deref(), Some("5.36.0"));
        assert_eq!(first_version("Python 3.11.2").as_deref(), Some("3.11.2"));
        assert_eq!(first_version("v18.19.0").as_deref(), Some("18.19.0"));
        assert_eq!(first_version("no digits"), None);
    }

    #[test]
    fn ids_are_unique_and_cover_the_client_aliases() {
        let mut ids: Vec<u32> = IDS.iter().map(|(i, _, _)| *i).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), IDS.len());
        // The official client's 1.14.0 alias table: C 103, C++ 105, Python 113, Java 62.
        for id in [103, 105, 113, 62, 50, 54, 71] {
            assert!(known_id(id).is_some(), "{id}");
        }
    }
}
