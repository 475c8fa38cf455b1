//! Language definitions end to end through `judge grade`: a toolchain found on
//! the judge's PATH (rustup's `rustc`, a proxy resolved to the real compiler,
//! its toolchain bound read-only), and the per-language memory allowance of
//! managed runtimes (a JVM program using 40 MiB is AC under 64 MiB and reports
//! about what C reports). Every judge process runs inside
//! `unshare --pid --fork --kill-child --mount-proc`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

fn aplusb() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/problems/aplusb")
}

/// `judge grade --json ARGS...` in a throwaway PID namespace with `path` as
/// its PATH (or ours); the result object.
fn grade(args: &[&str], path: Option<&str>) -> Value {
    let mut command = Command::new("timeout");
    command
        .args(["-s", "KILL", "300", "unshare", "--pid", "--fork", "--kill-child", "--mount-proc"])
        .arg(env!("CARGO_BIN_EXE_judge"))
        .args(["grade", "--json"])
        .args(args)
        .stdin(Stdio::null());
    if let Some(path) = path {
        command.env("PATH", path);
    }
    let output = command.output().expect("spawning judge");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "judge grade {args:?} failed: {stdout}\n{stderr}");
    serde_json::from_str(stdout.lines().next().unwrap_or_default()).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

/// rustup's bin directory when it holds a working `rustc`.
fn rustup_bin() -> Option<PathBuf> {
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".cargo")))?;
    let bin = cargo_home.join("bin");
    let sysroot = Command::new(bin.join("rustc")).args(["--print", "sysroot"]).output().ok()?;
    (sysroot.status.success() && bin.join("rustup").exists()).then_some(bin)
}

/// Compiles only with rustc 1.82 or later (`let ... else`, `iter::repeat_n`),
/// which Debian 12's rustc (1.63) is not: so it proves which rustc ran.
const NEW_RUST: &str = r#"
use std::io::Read;
fn main() {
    let mut text = String::new();
    std::io::stdin().read_to_string(&mut text).unwrap();
    let mut words = text.split_whitespace().map(|w| w.parse::<i64>().unwrap());
    let (Some(a), Some(b)) = (words.next(), words.next()) else { panic!("two numbers") };
    let sum: i64 = std::iter::repeat_n(a + b, 1).sum();
    println!("{sum}");
}
"#;

#[test]
fn a_rustc_from_rustup_on_path_compiles_and_runs_sandboxed() {
    let Some(bin) = rustup_bin() else {
        eprintln!("SKIPPED: no rustup toolchain (~/.cargo/bin/rustc with rustup) on this machine");
        return;
    };
    let scratch = tempfile::Builder::new().prefix("judge-toolchain-").tempdir().unwrap();
    let languages = scratch.path().join("languages");
    std::fs::create_dir(&languages).unwrap();
    // No Debian path: only PATH can find it, and what PATH finds is rustup's proxy.
    std::fs::write(
        languages.join("rust.toml"),
        r#"id = "rust"
name = "Rust (rustup)"
extensions = ["rs"]
source = "main.rs"
compile = ["{tool:rustc}", "-O", "--edition", "2021", "-o", "main", "main.rs"]
run = ["./main"]
version = ["{tool:rustc}", "--version"]

[tools.rustc]
search_path = true
root = ["--print", "sysroot"]
binary = "bin/rustc"
"#,
    )
    .unwrap();
    let source = scratch.path().join("new.rs");
    std::fs::write(&source, NEW_RUST).unwrap();
    let path = format!("{}:/usr/bin:/bin", bin.display());
    let (languages, problem, source) =
        (languages.display().to_string(), aplusb().display().to_string(), source.display().to_string());
    let result = grade(&["--languages", &languages, &problem, &source], Some(&path));
    assert_eq!(result["verdict"], "AC", "{result}");
    assert_eq!(result["compile"]["ok"], true, "{result}");

    // With no rustc on PATH the language is unavailable.
    let output = Command::new(env!("CARGO_BIN_EXE_judge"))
        .args(["languages", "--json", "--languages", &languages])
        .env("PATH", scratch.path())
        .output()
        .unwrap();
    let listed: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(listed[0]["available"], false, "{listed}");
}

/// Allocates and touches 40 MiB, then prints a + b.
const BIG_JAVA: &str = "import java.util.*;\npublic class Big { public static void main(String[] a) { \
    Scanner s = new Scanner(System.in); long x = s.nextLong(), y = s.nextLong(); byte[] b = new byte[40 << 20]; \
    for (int i = 0; i < b.length; i += 4096) b[i] = (byte) i; System.out.println(x + y + b[4096] - b[4096]); } }";
const BIG_CS: &str = "using System;\nclass P { static void Main() { var p = Console.ReadLine().Trim().Split(' '); \
    long x = long.Parse(p[0]), y = long.Parse(p[1]); var b = new byte[40 << 20]; \
    for (int i = 0; i < b.Length; i += 4096) b[i] = (byte)i; Console.WriteLine(x + y + b[4096] - b[4096]); } }";
const BIG_C: &str = "#include <stdio.h>\n#include <stdlib.h>\nint main(){long long a,b;scanf(\"%lld %lld\",&a,&b);\
    char*m=malloc(40<<20);for(int i=0;i<40<<20;i+=4096)m[i]=i;printf(\"%lld\\n\",a+b+m[4096]-m[4096]);}";

/// The `memory_allowance_mib` of a language's definition, in KiB.
fn allowance_kib(language: &str) -> u64 {
    let text = std::fs::read_to_string(format!("{}/../languages/{language}.toml", env!("CARGO_MANIFEST_DIR"))).unwrap();
    let line = text.lines().find_map(|l| l.trim().strip_prefix("memory_allowance_mib"));
    let mib = line.map(|rest| rest.trim().trim_start_matches('=').trim().parse::<u64>().unwrap());
    mib.unwrap_or(0) * 1024
}

#[test]
fn managed_runtimes_get_their_memory_allowance_on_top_of_the_problems_limit() {
    let scratch = tempfile::Builder::new().prefix("judge-allowance-").tempdir().unwrap();
    let problem = aplusb().display().to_string();
    let mut reported = Vec::new();
    let listed = Command::new(env!("CARGO_BIN_EXE_judge")).args(["languages", "--json"]).output().unwrap();
    let listed: Value = serde_json::from_slice(&listed.stdout).unwrap();
    let available = |id: &str| listed.as_array().unwrap().iter().any(|l| l["id"] == id && l["available"] == true);
    for (file, language, text) in [("big.c", "c", BIG_C), ("Big.java", "java", BIG_JAVA), ("big.cs", "csharp", BIG_CS)]
    {
        if !available(language) {
            eprintln!("SKIPPED {file}: {language} is not installed");
            continue;
        }
        let source = scratch.path().join(file);
        std::fs::write(&source, text).unwrap();
        let result = grade(&["--memory-limit", "64", &problem, &source.display().to_string()], None);
        assert_eq!(result["verdict"], "AC", "{file} under 64 MiB: {result}");
        let kib = result["memory_kb"].as_u64().unwrap();
        // The 40 MiB the program holds; the peak is reported as it is
        // (runtime included), below the enforced limit: 64 MiB + allowance.
        let allowance = allowance_kib(language);
        assert!((40 * 1024..64 * 1024 + allowance).contains(&kib), "{file} reported {kib} KiB");
        reported.push((file, kib, allowance));
    }
    let c = reported.iter().find(|(f, _, _)| *f == "big.c").map(|r| r.1).expect("C is always installed");
    for (file, kib, allowance) in &reported {
        // What the runtime takes beyond C's is about what its allowance covers.
        let runtime = kib.saturating_sub(c);
        assert!(runtime.abs_diff(*allowance) < 8 * 1024, "{file} reported {kib} KiB, C {c} KiB: {reported:?}");
    }
    eprintln!("reported peaks (KiB) under a 64 MiB limit: {reported:?}");
}
