//! Package output validators: built once per validator path and kept.
//!
//! The build runs outside any lock (moka gives each path its own once-cell),
//! so a slow validator compile never holds up submissions that need another
//! validator. A validator that cannot be built because of the package (no
//! source, a compile error) is kept as such; a failure the judge caused is
//! not kept, so the next submission builds again. Validators are kept by
//! path and by what their files look like on disk, so a package replaced in
//! place gets its new validator built.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

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

/// A validator's path and, per file in it, (inode, size, modification time).
type ValidatorKey = (PathBuf, Vec<(u64, u64, i64, i64)>);

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
        let key = (path.to_path_buf(), fingerprint(path));
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
