//! Package output validators: built once per validator path and kept.
//!
//! The build runs outside any lock (moka gives each path its own once-cell),
//! so a slow validator compile never holds up submissions that need another
//! validator. A validator that cannot be built because of the package (no
//! source, a compile error) is kept as such; a failure the judge caused is
//! not kept, so the next submission builds again. A package's validators
//! are kept by path and by what their files look like on disk, so a package
//! replaced in place gets its new validator built. A validator in a
//! temporary unpacked dir (a zip, an inline checker) gets a fresh path every
//! job, so it is kept by its name there and its files' bytes instead: the same
//! checker sent twice is built once.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use sha2::{Digest, Sha256};

use super::build::{build, BuildFailure, Program};
use crate::language::Languages;

/// How many built validators are kept (each holds a tmpfs).
const VALIDATORS_HELD: u64 = 64;
/// Memory limit substituted into a validator's run command.
const VALIDATOR_MEMORY_MIB: u64 = 1024;
/// Languages a validator may be written in, tried in this order.
pub const VALIDATOR_LANGUAGES: [&str; 7] = ["cpp", "c", "python3", "java", "rust", "go", "javascript"];

/// A built validator, or why the package's validator cannot be built.
pub(crate) type Validator = Result<Arc<Program>, String>;

/// What a kept validator is found by.
#[derive(Clone, PartialEq, Eq, Hash)]
enum ValidatorKey {
    /// A package's validator: its path and, per file in it, (inode, size,
    /// modification time).
    OnDisk(PathBuf, Vec<(u64, u64, i64, i64)>),
    /// A validator in a temporary dir: its name there (messages show it) and
    /// the SHA-256 of its files' names and bytes.
    Content(PathBuf, [u8; 32]),
}

/// One digest of every file's name and bytes, each length-prefixed so no two
/// different file sets run together into the same stream.
fn content_digest(files: &[(String, Vec<u8>)]) -> [u8; 32] {
    let mut sorted: Vec<_> = files.iter().collect();
    sorted.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    let mut hasher = Sha256::new();
    for (name, data) in sorted {
        hasher.update((name.len() as u64).to_le_bytes());
        hasher.update(name.as_bytes());
        hasher.update((data.len() as u64).to_le_bytes());
        hasher.update(data);
    }
    hasher.finalize().into()
}

pub(crate) struct ValidatorCache {
    built: moka::sync::Cache<ValidatorKey, Validator>,
}

/// What the validator's files look like now; unreadable files are left out
/// (the build reports them).
fn fingerprint(path: &Path) -> Vec<(u64, u64, i64, i64)> {
    let stamp = |meta: std::fs::Metadata| (meta.ino(), meta.len(), meta.mtime(), meta.mtime_nsec());
    let Ok(meta) = std::fs::metadata(path) else { return Vec::new() };
    if !meta.is_dir() {
        return vec![stamp(meta)];
    }
    let mut stamps: Vec<_> = std::fs::read_dir(path)
        .into_iter()
        .flatten()
        .filter_map(|entry| entry.ok()?.metadata().ok())
        .map(stamp)
        .collect();
    stamps.push(stamp(meta));
    stamps.sort_unstable();
    stamps
}

impl Default for ValidatorCache {
    fn default() -> Self {
        ValidatorCache { built: moka::sync::Cache::new(VALIDATORS_HELD) }
    }
}

impl ValidatorCache {
    /// The validator at `path`, built with `build` when not kept yet. `build`'s
    /// outer `Err` is the judge's failure: returned, not kept.
    pub fn get(&self, path: &Path, build: impl FnOnce() -> Result<Validator, String>) -> Result<Validator, String> {
        let key = ValidatorKey::OnDisk(path.to_path_buf(), fingerprint(path));
        self.built.try_get_with(key, build).map_err(|e| e.as_ref().clone())
    }

    /// The validator named `name` whose files are `files`, built with `build`
    /// when no validator with the same name and bytes is kept yet.
    pub fn get_by_content(
        &self,
        name: &Path,
        files: &[(String, Vec<u8>)],
        build: impl FnOnce() -> Result<Validator, String>,
    ) -> Result<Validator, String> {
        let key = ValidatorKey::Content(name.to_path_buf(), content_digest(files));
        self.built.try_get_with(key, build).map_err(|e| e.as_ref().clone())
    }
}

/// Builds a package's validator (one source file, or a directory whose
/// sources of one language are compiled together) in the sandbox. `files` are
/// the validator's files by name, read safely from the package; `path` names
/// the validator in messages.
pub(crate) fn build_validator(
    languages: &Languages,
    path: &Path,
    files: Result<Vec<(String, Vec<u8>)>, String>,
) -> Result<Validator, String> {
    let mut named = match files {
        Ok(files) => files,
        Err(e) => return Ok(Err(e)),
    };
    let extension = |name: &str| Path::new(name).extension().and_then(|e| e.to_str()).map(str::to_owned);
    let found = VALIDATOR_LANGUAGES.iter().filter_map(|id| languages.get(id)).find_map(|lang| {
        let sources: Vec<String> = named
            .iter()
            .map(|(name, _)| name)
            .filter(|name| extension(name).is_some_and(|e| lang.extensions.contains(&e)))
            .cloned()
            .collect();
        (!sources.is_empty()).then_some((lang, sources))
    });
    let Some((lang, sources)) = found else {
        return Ok(Err(format!("{}: no validator source in a known language", path.display())));
    };
    if let Some(reason) = lang.unavailable_reason() {
        return Ok(Err(format!("validator language {}: {reason}", lang.id)));
    }
    let first_source = sources[0].clone();
    let text = named
        .iter()
        .find(|(n, _)| *n == first_source)
        .map(|(_, d)| String::from_utf8_lossy(d).into_owned())
        .unwrap_or_default();
    let mut lang = lang.clone();
    if sources.len() == 1 {
        // A lone source takes the language's source name, like a submission.
        let target = lang.source_name(&text);
        for entry in named.iter_mut().filter(|entry| entry.0 == first_source) {
            entry.0 = target.clone();
        }
    } else if let Some(cmd) = lang.compile.as_mut() {
        // Compile every source: the language's source name stands for all of them.
        if let Some(position) = cmd.iter().position(|a| *a == lang.source) {
            cmd.splice(position..=position, sources.iter().cloned());
        }
    }
    match build(&lang, &named, &text, VALIDATOR_MEMORY_MIB) {
        Ok((program, _)) => Ok(Ok(Arc::new(program))),
        Err(BuildFailure::Compile(info)) => {
            Ok(Err(format!("validator {} does not compile:\n{}", path.display(), info.output)))
        }
        Err(BuildFailure::Internal(message)) => Err(format!("building validator {}: {message}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::mpsc;
    use std::time::Duration;

    #[test]
    fn a_slow_validator_build_does_not_hold_up_another_validator() {
        let cache = &ValidatorCache::default();
        let (release, released) = mpsc::channel::<()>();
        let (done, finished) = mpsc::channel();
        std::thread::scope(|scope| {
            scope.spawn(move || {
                let slow = cache.get(Path::new("/pkg/slow"), || {
                    released.recv_timeout(Duration::from_secs(20)).ok();
                    Ok(Err("slow".into()))
                });
                assert_eq!(slow.unwrap().unwrap_err(), "slow");
            });
            std::thread::sleep(Duration::from_millis(100));
            scope.spawn(|| {
                let quick = cache.get(Path::new("/pkg/quick"), || Ok(Err("quick".into())));
                done.send(quick).unwrap();
            });
            // With one lock held over every build this would wait for the slow one.
            let quick = finished.recv_timeout(Duration::from_secs(5));
            release.send(()).unwrap();
            assert_eq!(quick.expect("the quick validator waited for the slow one").unwrap().unwrap_err(), "quick");
        });
    }

    #[test]
    fn package_failures_are_kept_and_judge_failures_are_not() {
        let cache = ValidatorCache::default();
        let builds = AtomicUsize::new(0);
        let judge_failure = || {
            builds.fetch_add(1, Ordering::SeqCst);
            Err("mounting tmpfs: ENOMEM".to_string())
        };
        assert!(cache.get(Path::new("/pkg/a"), judge_failure).is_err());
        let package_failure = || {
            builds.fetch_add(1, Ordering::SeqCst);
            Ok(Err("validator does not compile".to_string()))
        };
        assert!(cache.get(Path::new("/pkg/a"), package_failure).unwrap().is_err());
        assert_eq!(builds.load(Ordering::SeqCst), 2, "the judge's failure was not kept");
        let kept = cache.get(Path::new("/pkg/a"), || panic!("a package failure must be kept"));
        assert_eq!(kept.unwrap().unwrap_err(), "validator does not compile");
    }

    #[test]
    fn a_validator_changed_on_disk_is_built_again() {
        let dir = std::env::temp_dir().join(format!("judge-validator-change-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let source = dir.join("check.c");
        std::fs::write(&source, "int main(void){return 42;}\n").unwrap();
        let cache = ValidatorCache::default();
        let builds = AtomicUsize::new(0);
        let build = || {
            builds.fetch_add(1, Ordering::SeqCst);
            Ok(Err("stand-in".to_string()))
        };
        cache.get(&dir, build).unwrap().unwrap_err();
        cache.get(&dir, build).unwrap().unwrap_err();
        std::fs::write(&source, "int main(void){return 43;}\n/* longer */\n").unwrap();
        cache.get(&dir, build).unwrap().unwrap_err();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(builds.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn the_same_validator_in_two_temporary_dirs_is_built_once_and_a_changed_one_again() {
        let cache = ValidatorCache::default();
        let builds = AtomicUsize::new(0);
        let build = || {
            builds.fetch_add(1, Ordering::SeqCst);
            Ok(Err("stand-in".to_string()))
        };
        let checker = |text: &str| vec![("check.c".to_string(), text.as_bytes().to_vec())];
        let name = Path::new("check.c");
        cache.get_by_content(name, &checker("int main(void){return 42;}"), build).unwrap().unwrap_err();
        cache.get_by_content(name, &checker("int main(void){return 42;}"), build).unwrap().unwrap_err();
        assert_eq!(builds.load(Ordering::SeqCst), 1, "the same bytes were built twice");
        cache.get_by_content(name, &checker("int main(void){return 43;}"), build).unwrap().unwrap_err();
        assert_eq!(builds.load(Ordering::SeqCst), 2, "changed bytes were not built anew");
        // The same bytes under another name (another language's file) are another validator.
        cache
            .get_by_content(Path::new("check.py"), &checker("int main(void){return 42;}"), build)
            .unwrap()
            .unwrap_err();
        assert_eq!(builds.load(Ordering::SeqCst), 3);
    }

    #[test]
    fn inline_checkers_with_the_same_bytes_share_one_kept_validator() {
        use crate::problem::{Problem, ValidatorProtocol, ValidatorSpec};
        let grader = super::super::Grader::new(Arc::new(Languages::embedded().unwrap()));
        // No known language: the build stops at "no validator source", which
        // is kept like any package failure, so no sandbox is needed.
        let judged_with = |source: &[u8]| {
            let problem = Problem::inline("t", vec![], 1.0, 64, 64, vec![]).unwrap();
            let problem = problem.with_checker_source("check.txt", source, ValidatorProtocol::Testlib).unwrap();
            let ValidatorSpec::Custom(path) = problem.validator.clone() else { panic!("no checker") };
            let err = grader.validator(&problem, &path).unwrap_err().to_string();
            assert!(err.contains("check.txt: no validator source"), "{err}");
            assert!(!err.contains("judge-checker-"), "a temp path leaked: {err}");
            grader.validators.built.run_pending_tasks();
            grader.validators.built.entry_count()
        };
        assert_eq!(judged_with(b"same"), 1);
        assert_eq!(judged_with(b"same"), 1, "a second job's identical checker was kept apart");
        assert_eq!(judged_with(b"changed"), 2, "a changed checker shared the old one");
    }

    #[test]
    fn file_boundaries_count_in_the_content_digest() {
        let one = vec![("a".to_string(), b"bc".to_vec())];
        let other = vec![("ab".to_string(), b"c".to_vec())];
        assert_ne!(content_digest(&one), content_digest(&other));
    }

    #[test]
    fn a_package_without_validator_source_is_the_packages_fault() {
        let languages = Languages::embedded().unwrap();
        let dir = std::env::temp_dir().join(format!("judge-validator-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let files = vec![("README".to_string(), b"no source here".to_vec())];
        let built = build_validator(&languages, &dir, Ok(files));
        std::fs::remove_dir_all(&dir).unwrap();
        let err = built.expect("not the judge's failure").unwrap_err();
        assert!(err.contains("no validator source"), "{err}");
    }
}
