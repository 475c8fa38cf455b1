//! Hostile packages (issue 13): links out of the package, FIFOs, devices, huge and deeply
//! nested files. Each is a load (or read) error naming the file, returned fast.

use std::os::unix::fs::symlink;
use std::path::Path;
use std::time::{Duration, Instant};

use super::Pkg;
use crate::problem::*;

impl Pkg {
    fn link(&self, rel: &str, target: impl AsRef<Path>) -> &Self {
        let path = self.dir.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        match std::fs::symlink_metadata(&path) {
            Ok(m) if m.is_dir() => std::fs::remove_dir_all(&path).unwrap(),
            Ok(_) => std::fs::remove_file(&path).unwrap(),
            Err(_) => {}
        }
        symlink(target, path).unwrap();
        self
    }

    fn fifo(&self, rel: &str) -> &Self {
        let path = self.dir.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let _ = std::fs::remove_file(&path);
        nix::unistd::mkfifo(&path, nix::sys::stat::Mode::from_bits_truncate(0o644)).unwrap();
        self
    }

    /// The load error, which must come within 5 s (a FIFO opened blocking would hang).
    fn err_fast(self) -> String {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(self.err());
        });
        rx.recv_timeout(Duration::from_secs(5)).expect("loading blocked for over 5 s")
    }
}

/// A host file the tests point links at; its contents must never show up in a message.
fn host_secret(pkg: &Pkg) -> std::path::PathBuf {
    let path = pkg.root.path().join("host-secret.txt");
    std::fs::write(&path, "HOST-SECRET-LINE\n").unwrap();
    path
}

fn assert_names(e: &str, file: &str, why: &str) {
    assert!(e.contains(&format!(": {file}: {why}")), "expected {file:?} and {why:?} in: {e}");
    assert!(!e.contains("HOST-SECRET") && !e.contains("root:"), "{e}");
}

#[test]
fn links_out_of_the_package_are_load_errors() {
    for (rel, target) in [
        ("data/sample/1.ans", "/etc/shadow"),
        ("data/sample/1.in", "/etc/shadow"),
        ("data/secret/1.in", "/proc/self/environ"),
        ("data/secret/1.in", "/dev/zero"),
        ("data/secret/1.in", "/dev/urandom"),
        ("problem.yaml", "/dev/zero"),
        (".timelimit", "/etc/shadow"),
        ("data/secret/testdata.yaml", "/etc/shadow"),
        ("data/secret/1.yaml", "/etc/shadow"),
    ] {
        let pkg = Pkg::new("out");
        pkg.tests(&["sample/1", "secret/1"]).link(rel, target);
        assert_names(&pkg.err_fast(), rel, "leaves the package");
    }
    // Relative links that climb out, to a host file and to a directory.
    let pkg = Pkg::new("climb");
    let secret = host_secret(&pkg);
    pkg.tests(&["sample/1"]).link("data/sample/1.ans", "../../../host-secret.txt");
    assert!(secret.exists());
    assert_names(&pkg.err(), "data/sample/1.ans", "leaves the package");
    let elsewhere = Pkg::new("elsewhere");
    elsewhere.tests(&["secret/1"]);
    let pkg = Pkg::new("secretdir");
    pkg.tests(&["sample/1"]).link("data/secret", elsewhere.dir.join("data/secret"));
    assert_names(&pkg.err(), "data/secret", "leaves the package");
    pkg.link("data", elsewhere.dir.join("data"));
    assert_names(&pkg.err(), "data", "leaves the package");
}

#[test]
fn validator_sources_linked_out_are_load_errors() {
    let pkg = Pkg::new("valout");
    pkg.tests(&["secret/1"]).file("problem.yaml", "validation: custom\n");
    pkg.file("output_validators/check/check.cpp", "int main(){}").link("output_validators/check/util.h", "/etc/shadow");
    assert_names(&pkg.err(), "output_validators/check/util.h", "leaves the package");
    pkg.link("output_validators/check/check.cpp", "/etc/shadow");
    assert!(pkg.err().contains("leaves the package"));
    // A single-file validator, and the validator directory itself, linked out.
    let pkg = Pkg::new("valout2");
    let secret = host_secret(&pkg);
    pkg.tests(&["secret/1"]).file("problem.yaml", "validation: custom\n").link("output_validators/check.py", &secret);
    assert_names(&pkg.err(), "output_validators/check.py", "leaves the package");
    let pkg = Pkg::new("valout3");
    pkg.tests(&["secret/1"]).file("problem.yaml", "problem_format_version: 2023-07-draft\n");
    pkg.link("output_validator", "/etc");
    assert_names(&pkg.err(), "output_validator", "leaves the package");
}

#[test]
fn fifos_are_load_errors_not_hangs() {
    for rel in ["problem.yaml", ".timelimit", "data/testdata.yaml", "data/secret/testdata.yaml", "data/secret/1.in"] {
        let pkg = Pkg::new("fifo");
        pkg.tests(&["secret/1"]).fifo(rel);
        assert_names(&pkg.err_fast(), rel, "not a regular file (a FIFO)");
    }
    let pkg = Pkg::new("fifoans");
    pkg.tests(&["secret/1"]).fifo("data/secret/1.ans");
    assert_names(&pkg.err_fast(), "data/secret/1.ans", "not a regular file (a FIFO)");
    let pkg = Pkg::new("fifoval");
    pkg.tests(&["secret/1"]).file("problem.yaml", "validation: custom\n");
    pkg.file("output_validators/check/check.cpp", "int main(){}").fifo("output_validators/check/input.h");
    assert_names(&pkg.err_fast(), "output_validators/check/input.h", "not a regular file (a FIFO)");
}

#[test]
fn links_within_the_package_still_work() {
    let pkg = Pkg::new("inner");
    pkg.tests(&["secret/1", "secret/2"]).link("data/secret/1.ans", "2.ans");
    pkg.link("data/sample", "secret");
    let p = pkg.load().unwrap();
    assert_eq!(super::names(&p), ["sample/1", "sample/2", "secret/1", "secret/2"]);
    assert_eq!(p.tests[2].answer.read().unwrap(), b"ans secret/2\n");
}

#[test]
fn files_swapped_after_loading_are_refused_when_read() {
    let pkg = Pkg::new("swap");
    pkg.tests(&["secret/1"]).file("problem.yaml", "validation: custom\n");
    pkg.file("output_validators/check/check.py", "print(1)\n");
    let p = pkg.load().unwrap();
    assert_eq!(p.validator_sources().unwrap(), vec![("check.py".to_string(), b"print(1)\n".to_vec())]);
    pkg.link("data/secret/1.ans", "/etc/shadow").link("data/secret/1.in", "/proc/self/environ");
    pkg.link("output_validators/check/check.py", "/etc/shadow");
    let test = &p.tests[0];
    assert!(test.answer.read().unwrap_err().to_string().contains("data/secret/1.ans: leaves the package"));
    assert!(test.input.read().unwrap_err().to_string().contains("data/secret/1.in: leaves the package"));
    let sealed = crate::grade::inputs::InputCache::default().get(&test.input);
    assert!(sealed.unwrap_err().to_string().contains("leaves the package"));
    let e = p.validator_sources().unwrap_err().to_string();
    assert!(e.contains("output_validators/check/check.py: leaves the package"), "{e}");
}

#[test]
fn submissions_linked_out_are_refused() {
    let pkg = Pkg::new("subs");
    pkg.tests(&["secret/1"]).file("submissions/accepted/a.py", "print(1)\n");
    pkg.link("submissions/accepted/b.py", "/etc/shadow");
    let p = pkg.load().unwrap();
    assert_names(&p.submissions().unwrap_err().to_string(), "submissions/accepted/b.py", "leaves the package");
    std::fs::remove_file(pkg.dir.join("submissions/accepted/b.py")).unwrap();
    let subs = p.submissions().unwrap();
    assert_eq!(p.read_package_file(&subs[0].1).unwrap(), b"print(1)\n");
    pkg.link("submissions/accepted/a.py", "/etc/shadow");
    let e = p.read_package_file(&subs[0].1).unwrap_err().to_string();
    assert_names(&e, "submissions/accepted/a.py", "leaves the package");
}

#[test]
fn sizes_are_capped() {
    let pkg = Pkg::new("bigyaml");
    pkg.tests(&["secret/1"]).file("problem.yaml", &format!("name: x\n#{}\n", "a".repeat(1 << 20)));
    assert_names(&pkg.err(), "problem.yaml", "larger than 1048576 bytes");
    let pkg = Pkg::new("capped");
    pkg.tests(&["secret/1", "secret/2"]);
    let small = PackageLimits { max_file_bytes: 10, max_config_bytes: 100, max_package_bytes: 1000 };
    let e = Problem::load_with_limits(&pkg.dir, small).unwrap_err().to_string();
    assert_names(&e, "data/secret/1.ans", "larger than 10 bytes");
    let total = PackageLimits { max_file_bytes: 100, max_config_bytes: 100, max_package_bytes: 30 };
    let e = Problem::load_with_limits(&pkg.dir, total).unwrap_err().to_string();
    assert_names(&e, "data/secret/2.ans", "the package's files add up to more than 30 bytes");
    assert!(Problem::load_with_limits(&pkg.dir, PackageLimits { max_package_bytes: 50, ..total }).is_ok());
}

#[test]
fn deep_yaml_nesting_is_refused_fast() {
    for (name, text, want) in [
        ("brackets", "[".repeat(100_000), "nested more than 64 deep"),
        ("braces", "a: ".to_string() + &"{".repeat(100_000), "nested more than 64 deep"),
        // Quoted closers hide nesting from the depth count: the count of all brackets
        // still bounds it.
        ("quoted", "a: [".to_string() + &"\"]]]]\", [".repeat(20_000), "more than 10000 '[' and '{'"),
    ] {
        let pkg = Pkg::new("deep");
        pkg.tests(&["secret/1"]).file("problem.yaml", &text);
        let start = Instant::now();
        let e = pkg.err();
        assert!(start.elapsed() < Duration::from_millis(500), "{name}: took {:?}", start.elapsed());
        assert!(e.contains("problem.yaml: invalid YAML: ") && e.contains(want), "{name}: {e}");
    }
    let pkg = Pkg::new("many");
    pkg.tests(&["secret/1"]).file("problem.yaml", &format!("a: \"{}\"\n", "[]".repeat(20_000)));
    assert!(pkg.err().contains("more than 10000 '[' and '{'"));
    // Ordinary nesting is fine.
    let pkg = Pkg::new("shallow");
    pkg.tests(&["secret/1"]).file("data/secret/testdata.yaml", "output_validator_args: [[1], {a: [2]}]\n");
    assert!(pkg.err().contains("output_validator_args: expected a list of strings"));
}

#[test]
fn non_utf8_test_names_are_named() {
    use std::os::unix::ffi::OsStrExt;
    let pkg = Pkg::new("latin1");
    pkg.tests(&["secret/1"]);
    let name = std::ffi::OsStr::from_bytes(b"caf\xe9.in");
    std::fs::write(pkg.dir.join("data/secret").join(name), "x").unwrap();
    std::fs::write(pkg.dir.join("data/secret").join(std::ffi::OsStr::from_bytes(b"caf\xe9.ans")), "x").unwrap();
    let e = pkg.err();
    assert!(e.contains("data/secret/caf\u{FFFD}.ans: file name is not UTF-8"), "{e}");
    assert!(!e.contains("without answer"), "{e}");
}
