//! Language definitions: one TOML file per language in `languages/`, also
//! compiled into the binary so `judge` works from any directory.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::sandbox::Limits;

use crate::limits::MIB;

mod java;
mod tools;

pub use tools::Tool;

const EMBEDDED: &[(&str, &str)] = &[
    ("c.toml", include_str!("../../languages/c.toml")),
    ("cpp.toml", include_str!("../../languages/cpp.toml")),
    ("python3.toml", include_str!("../../languages/python3.toml")),
    ("java.toml", include_str!("../../languages/java.toml")),
    ("javascript.toml", include_str!("../../languages/javascript.toml")),
    ("rust.toml", include_str!("../../languages/rust.toml")),
    ("go.toml", include_str!("../../languages/go.toml")),
    ("kotlin.toml", include_str!("../../languages/kotlin.toml")),
    ("csharp.toml", include_str!("../../languages/csharp.toml")),
    ("haskell.toml", include_str!("../../languages/haskell.toml")),
    ("ruby.toml", include_str!("../../languages/ruby.toml")),
    ("php.toml", include_str!("../../languages/php.toml")),
    ("pascal.toml", include_str!("../../languages/pascal.toml")),
    ("ocaml.toml", include_str!("../../languages/ocaml.toml")),
    ("pypy3.toml", include_str!("../../languages/pypy3.toml")),
    ("lua.toml", include_str!("../../languages/lua.toml")),
    ("perl.toml", include_str!("../../languages/perl.toml")),
];

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompileLimits {
    #[serde(default = "default_compile_cpu")]
    pub cpu: f64,
    #[serde(default = "default_compile_wall")]
    pub wall: f64,
    #[serde(default = "default_compile_memory")]
    pub memory_mib: u64,
    #[serde(default = "default_compile_output")]
    pub output_mib: u64,
    #[serde(default = "default_compile_processes")]
    pub processes: u64,
}

fn default_compile_cpu() -> f64 {
    10.0
}
fn default_compile_wall() -> f64 {
    20.0
}
fn default_compile_memory() -> u64 {
    1024
}
fn default_compile_output() -> u64 {
    16
}
fn default_compile_processes() -> u64 {
    256
}
fn default_true() -> bool {
    true
}
fn default_processes() -> u64 {
    64
}

/// Memory and output limits a language file may give, in MiB (up to 1 TiB,
/// so that bytes never overflow).
const LIMIT_MIB: std::ops::RangeInclusive<u64> = 1..=1 << 20;
/// Compile times a language file may give, in seconds.
const LIMIT_SECONDS: f64 = 3600.0;

impl CompileLimits {
    /// Refuses values that cannot be turned into sandbox limits.
    fn check(&self) -> Result<(), String> {
        for (key, seconds) in [("cpu", self.cpu), ("wall", self.wall)] {
            if !(seconds.is_finite() && seconds > 0.0 && seconds <= LIMIT_SECONDS) {
                return Err(format!("{key}: must be more than 0 and at most {LIMIT_SECONDS} seconds, got {seconds}"));
            }
        }
        for (key, mib) in [("memory_mib", self.memory_mib), ("output_mib", self.output_mib)] {
            if !LIMIT_MIB.contains(&mib) {
                return Err(format!("{key}: must be {} to {} MiB, got {mib}", LIMIT_MIB.start(), LIMIT_MIB.end()));
            }
        }
        if self.processes == 0 {
            return Err("processes: must be at least 1".into());
        }
        Ok(())
    }
}

impl Default for CompileLimits {
    fn default() -> Self {
        CompileLimits {
            cpu: default_compile_cpu(),
            wall: default_compile_wall(),
            memory_mib: default_compile_memory(),
            output_mib: default_compile_output(),
            processes: default_compile_processes(),
        }
    }
}

/// One language, as its TOML file says.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Language {
    pub id: String,
    pub name: String,
    pub extensions: Vec<String>,
    /// Source file name in the work dir; `{class}` is Java's public class.
    pub source: String,
    /// Compile command, run in the work dir; absent for nothing to compile.
    #[serde(default)]
    pub compile: Option<Vec<String>>,
    /// Run command; `{memory_mib}` is the memory limit, `{class}` as above.
    pub run: Vec<String>,
    /// Prints the toolchain's identity (part of the compile cache key).
    #[serde(default)]
    pub version: Option<Vec<String>>,
    /// Extra host paths shown read-only at the same place.
    #[serde(default)]
    pub binds: Vec<PathBuf>,
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Whether runs get the `RLIMIT_AS` backstop.
    #[serde(default = "default_true")]
    pub address_space: bool,
    #[serde(default = "default_processes")]
    pub processes: u64,
    #[serde(default)]
    pub compile_limits: CompileLimits,
    /// MiB the runtime itself needs beyond the contestant's data (a JVM's
    /// metaspace and code cache, Mono's, GHC's or V8's runtime): added to the
    /// enforced memory limit and taken off the reported peak.
    #[serde(default)]
    pub memory_allowance_mib: u64,
    /// Tools the commands name as `{tool:NAME}`, found when the file is loaded.
    #[serde(default)]
    pub tools: BTreeMap<String, Tool>,
    /// Why a tool cannot be found here, if one cannot.
    #[serde(skip)]
    missing_tool: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct LanguageInfo {
    pub id: String,
    pub name: String,
    pub extensions: Vec<String>,
    pub available: bool,
}

impl Language {
    fn parse(file: &str, text: &str) -> Result<Language, String> {
        let lang: Language = toml::from_str(text).map_err(|e| format!("{file}: {e}"))?;
        if lang.run.is_empty() {
            return Err(format!("{file}: run: the command is empty"));
        }
        if lang.compile.as_ref().is_some_and(|c| c.is_empty()) {
            return Err(format!("{file}: compile: the command is empty"));
        }
        if lang.version.as_ref().is_some_and(|c| c.is_empty()) {
            return Err(format!("{file}: version: the command is empty"));
        }
        if lang.source.contains('/') || lang.source.is_empty() {
            return Err(format!("{file}: source: must be a plain file name"));
        }
        lang.compile_limits.check().map_err(|e| format!("{file}: compile_limits.{e}"))?;
        if lang.memory_allowance_mib > *LIMIT_MIB.end() {
            return Err(format!(
                "{file}: memory_allowance_mib: must be at most {} MiB, got {}",
                LIMIT_MIB.end(),
                lang.memory_allowance_mib
            ));
        }
        let mut lang = lang;
        lang.find_tools(std::env::var_os("PATH").as_deref()).map_err(|e| format!("{file}: {e}"))?;
        Ok(lang)
    }

    /// Puts where each `{tool:NAME}` was found (on `search`, a PATH value, if
    /// need be) into the commands, and binds its toolchain directory; a tool
    /// not found makes the language unavailable. A name no table defines is
    /// an error.
    fn find_tools(&mut self, search: Option<&std::ffi::OsStr>) -> Result<(), String> {
        for (name, tool) in &self.tools {
            tool.check(name)?;
        }
        let commands = self.compile.iter_mut().chain(self.version.iter_mut()).chain(std::iter::once(&mut self.run));
        let mut found = BTreeMap::new();
        for arg in commands.flatten() {
            let mut from = 0;
            while let Some(start) = arg[from..].find("{tool:").map(|s| from + s) {
                let end =
                    arg[start..].find('}').map(|e| start + e).ok_or_else(|| format!("{arg:?}: unclosed {{tool:"))?;
                let name = arg[start + 6..end].to_string();
                let tool = self.tools.get(&name).ok_or_else(|| format!("{{tool:{name}}}: no [tools.{name}] table"))?;
                let program = match found.entry(name.clone()).or_insert_with(|| tool.find(&name, search)) {
                    Ok(at) => at.program.display().to_string(),
                    Err(_) => tool.path.as_ref().map_or_else(|| name.clone(), |p| p.display().to_string()),
                };
                arg.replace_range(start..=end, &program);
                from = start + program.len();
            }
        }
        for outcome in found.into_values() {
            match outcome {
                Ok(at) => self.binds.extend(at.bind),
                Err(reason) => {
                    self.missing_tool.get_or_insert(reason);
                }
            }
        }
        Ok(())
    }

    /// Why this language cannot run here, if it cannot: a tool it names by
    /// absolute path is missing.
    pub fn unavailable_reason(&self) -> Option<String> {
        if let Some(reason) = &self.missing_tool {
            return Some(reason.clone());
        }
        let tools = self.compile.iter().chain(std::iter::once(&self.run)).filter_map(|cmd| cmd.first());
        tools
            .filter(|tool| tool.starts_with('/'))
            .find(|tool| !Path::new(tool.as_str()).exists())
            .map(|tool| format!("{tool} is not installed"))
    }

    /// The class name Java needs: the first `public class X` (or any
    /// `class X`), else `Main`.
    pub fn class_name(source: &str) -> String {
        java::class_name(source)
    }

    fn expand(&self, template: &str, class: &str, memory_mib: u64) -> String {
        template.replace("{class}", class).replace("{memory_mib}", &memory_mib.to_string())
    }

    pub fn source_name(&self, source: &str) -> String {
        self.expand(&self.source, &self.class_for(source), 0)
    }

    fn class_for(&self, source: &str) -> String {
        if self.source.contains("{class}") || self.run.iter().any(|a| a.contains("{class}")) {
            Language::class_name(source)
        } else {
            String::new()
        }
    }

    pub fn compile_command(&self, source: &str) -> Option<Vec<String>> {
        let class = self.class_for(source);
        self.compile.as_ref().map(|cmd| cmd.iter().map(|a| self.expand(a, &class, 0)).collect())
    }

    pub fn run_command(&self, source: &str, memory_mib: u64) -> Vec<String> {
        let class = self.class_for(source);
        self.run.iter().map(|a| self.expand(a, &class, memory_mib)).collect()
    }

    /// Limits for a run of this language with the problem's CPU and memory
    /// limits; the runtime's memory allowance comes on top.
    pub fn run_limits(&self, cpu: Duration, memory: u64, output: u64) -> Limits {
        let mut limits = Limits::new(cpu, memory + self.memory_allowance_mib * MIB);
        limits.output = output;
        limits.processes = self.processes;
        if !self.address_space {
            limits.address_space = None;
        }
        limits
    }

    pub fn compile_limits(&self) -> Limits {
        let c = &self.compile_limits;
        let mut limits = Limits::new(Duration::from_secs_f64(c.cpu), c.memory_mib * MIB);
        limits.wall = Duration::from_secs_f64(c.wall);
        limits.output = c.output_mib * MIB;
        limits.processes = c.processes;
        limits.address_space = None;
        limits.tmpfs = 512 * MIB;
        limits
    }

    /// The toolchain's identity for cache keys: its version output, or the
    /// compile command itself when there is no version command.
    pub fn identity(&self) -> String {
        let from_version = self.version.as_ref().and_then(|cmd| {
            let (program, args) = cmd.split_first()?;
            let out = std::process::Command::new(program).args(args).output().ok()?;
            Some(format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
        });
        format!("{}|{:?}|{:?}|{}", self.id, self.compile, self.run, from_version.unwrap_or_default())
    }

    pub fn info(&self) -> LanguageInfo {
        LanguageInfo {
            id: self.id.clone(),
            name: self.name.clone(),
            extensions: self.extensions.clone(),
            available: self.unavailable_reason().is_none(),
        }
    }
}

/// All known languages, in id order.
#[derive(Debug, Default)]
pub struct Languages {
    list: Vec<Language>,
}

impl Languages {
    /// The definitions compiled into the binary.
    pub fn embedded() -> Result<Languages, String> {
        Self::from_texts(EMBEDDED.iter().map(|(f, t)| (f.to_string(), t.to_string())).collect())
    }

    pub fn from_dir(dir: &Path) -> Result<Languages, String> {
        let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let mut texts = Vec::new();
        for entry in entries {
            let path = entry.map_err(|e| format!("{}: {e}", dir.display()))?.path();
            if path.extension().is_some_and(|e| e == "toml") {
                let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
                texts.push((path.display().to_string(), text));
            }
        }
        if texts.is_empty() {
            return Err(format!("{}: no language definitions (*.toml) found", dir.display()));
        }
        Self::from_texts(texts)
    }

    fn from_texts(texts: Vec<(String, String)>) -> Result<Languages, String> {
        let mut list = texts.iter().map(|(f, t)| Language::parse(f, t)).collect::<Result<Vec<_>, _>>()?;
        list.sort_by(|a, b| a.id.cmp(&b.id));
        if let Some(w) = list.windows(2).find(|w| w[0].id == w[1].id) {
            return Err(format!("language id {:?} is defined twice", w[0].id));
        }
        Ok(Languages { list })
    }

    pub fn list(&self) -> Vec<LanguageInfo> {
        self.list.iter().map(Language::info).collect()
    }

    pub fn get(&self, id: &str) -> Option<&Language> {
        self.list.iter().find(|l| l.id == id)
    }

    pub fn ids(&self) -> String {
        self.list.iter().map(|l| l.id.as_str()).collect::<Vec<_>>().join(", ")
    }

    /// Language id for a file name by its extension.
    pub fn id_for_file(&self, file: &str) -> Result<String, String> {
        let ext = Path::new(file).extension().and_then(|e| e.to_str()).unwrap_or("");
        self.list.iter().find(|l| l.extensions.iter().any(|e| e == ext)).map(|l| l.id.clone()).ok_or_else(|| {
            let known: Vec<String> =
                self.list.iter().map(|l| format!("{} (.{})", l.id, l.extensions.join(", ."))).collect();
            format!("{file}: unknown file extension {ext:?}; languages: {}", known.join(", "))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_definitions_parse() {
        let langs = Languages::embedded().unwrap();
        for id in ["c", "cpp", "python3", "java", "javascript", "rust", "go"] {
            assert!(langs.get(id).is_some(), "{id}");
        }
        assert_eq!(langs.id_for_file("a/b/sol.cpp").unwrap(), "cpp");
        assert_eq!(langs.id_for_file("x.py").unwrap(), "python3");
        let err = langs.id_for_file("x.cob").unwrap_err();
        assert!(err.contains("python3 (.py"), "{err}");
    }

    #[test]
    fn java_class_name() {
        assert_eq!(Language::class_name("import x;\npublic class Sol {\n}"), "Sol");
        assert_eq!(Language::class_name("class A {}\npublic final class B{}"), "B");
        assert_eq!(Language::class_name("class Only{}"), "Only");
        assert_eq!(Language::class_name("// nothing"), "Main");
        assert_eq!(Language::class_name("public class Generic<T> extends Object {}"), "Generic");
        let java = Languages::embedded().unwrap();
        let java = java.get("java").unwrap();
        assert_eq!(java.source_name("public class Foo {}"), "Foo.java");
        assert!(java.run_command("public class Foo {}", 256).contains(&"-Xmx256m".to_string()));
    }

    #[test]
    fn bad_definitions_are_named() {
        let err = Language::parse("x.toml", "id = 'x'\nname='X'\nextensions=['x']\nsource='a'\nrun=[]").unwrap_err();
        assert!(err.contains("x.toml: run"), "{err}");
        let err = Language::parse("y.toml", "id = 'x'").unwrap_err();
        assert!(err.starts_with("y.toml"), "{err}");
    }

    const MINIMAL: &str = "id = 'x'\nname = 'X'\nextensions = ['x']\nsource = 'a.x'\nrun = ['/bin/true']\n";

    #[test]
    fn an_empty_version_command_is_a_load_error_not_a_panic() {
        let err = Language::parse("v.toml", &format!("{MINIMAL}version = []\n")).unwrap_err();
        assert_eq!(err, "v.toml: version: the command is empty");
        let fine = Language::parse("v.toml", &format!("{MINIMAL}version = ['/bin/true']\n")).unwrap();
        assert!(fine.identity().starts_with("x|"));
    }

    #[test]
    fn tools_are_put_into_the_commands_or_make_the_language_unavailable() {
        let text = |tool: &str| {
            format!(
                "id = 'x'\nname = 'X'\nextensions = ['x']\nsource = 'a.x'\n\
                 compile = ['{{tool:cc}}', '--sysroot={{tool:cc}}/..']\nrun = ['./a']\n[tools.cc]\n{tool}\n"
            )
        };
        let found = Language::parse("t.toml", &text("path = '/bin/sh'")).unwrap();
        assert_eq!(found.compile.as_deref().unwrap(), ["/bin/sh", "--sysroot=/bin/sh/.."]);
        assert_eq!(found.unavailable_reason(), None);
        let mut missing: Language = toml::from_str(&text("path = '/nonexistent/cc'\nsearch_path = true")).unwrap();
        missing.find_tools(Some(std::ffi::OsStr::new("/nonexistent-dir"))).unwrap();
        assert_eq!(missing.compile.as_deref().unwrap()[0], "/nonexistent/cc");
        let reason = missing.unavailable_reason().unwrap();
        assert_eq!(reason, "cc is not installed (not at /nonexistent/cc, not on PATH)");
        let undefined = format!("{MINIMAL}version = ['{{tool:rustc}}']\n");
        let err = Language::parse("u.toml", &undefined).unwrap_err();
        assert_eq!(err, "u.toml: {tool:rustc}: no [tools.rustc] table");
        let err = Language::parse("n.toml", &format!("{MINIMAL}version = ['{{tool:rustc']\n")).unwrap_err();
        assert!(err.contains("unclosed"), "{err}");
        let err = Language::parse("e.toml", &format!("{MINIMAL}[tools.cc]\n")).unwrap_err();
        assert!(err.starts_with("e.toml: tools.cc: give a path"), "{err}");
    }

    #[test]
    fn compile_limits_out_of_range_are_load_errors() {
        let with = |limits: &str| Language::parse("l.toml", &format!("{MINIMAL}[compile_limits]\n{limits}\n"));
        let err = with("memory_mib = 18014398509481984").unwrap_err();
        assert!(err.starts_with("l.toml: compile_limits.memory_mib: must be 1 to 1048576 MiB"), "{err}");
        assert!(with("memory_mib = 0").unwrap_err().contains("memory_mib"));
        assert!(with("output_mib = 1048577").unwrap_err().contains("l.toml: compile_limits.output_mib"));
        assert!(with("cpu = -1.0").unwrap_err().contains("l.toml: compile_limits.cpu"));
        assert!(with("wall = 1e300").unwrap_err().contains("l.toml: compile_limits.wall"));
        assert!(with("processes = 0").unwrap_err().contains("processes"));
        let fine = with("memory_mib = 1048576").unwrap();
        assert_eq!(fine.compile_limits().memory, 1 << 40);
    }
}
