//! Compiled submissions by (toolchain identity, commands, memory limit,
//! source) hash, so a resubmitted source is not compiled again.
//!
//! Built on `moka`: concurrent identical submissions share one compile (the
//! others wait for it), compile errors are cached like programs, and failures
//! the judge caused are never cached, so a retry compiles again. The cache is
//! bounded by entries and by the tmpfs bytes the entries hold at once: moka
//! bounds one total weight, and each entry weighs its bytes but at least an
//! equal share of the byte budget, so no more than `ENTRIES` fit either. An
//! evicted program's tmpfs is unmounted when its last user drops it.

use std::sync::Arc;

use sha2::{Digest, Sha256};

use super::build::Program;
use super::CompileInfo;
use crate::language::Language;

/// At most this many compiled programs are kept...
const ENTRIES: u64 = 64;
/// ...holding at most this many bytes of tmpfs between them.
const BYTES: u64 = 1 << 30;
/// Weights count KiB so that the byte budget fits moka's `u32` weights.
const WEIGHT_UNIT: u64 = 1024;

/// A program, or the compile error its source gives.
pub(crate) type Compiled = Result<(Arc<Program>, CompileInfo), CompileInfo>;

struct Entry {
    compiled: Compiled,
    /// What the program's tmpfs holds, measured once it is built.
    bytes: u64,
}

/// An entry's weight: its bytes, but at least its share of the byte budget.
fn weight(bytes: u64) -> u32 {
    let units = bytes.max(BYTES / ENTRIES) / WEIGHT_UNIT;
    u32::try_from(units).unwrap_or(u32::MAX)
}

pub(crate) struct CompileCache {
    entries: moka::sync::Cache<[u8; 32], Arc<Entry>>,
    /// Toolchain identities by language id, asked once per language.
    identities: moka::sync::Cache<String, String>,
}

impl Default for CompileCache {
    fn default() -> Self {
        let entries = moka::sync::Cache::builder()
            .max_capacity(BYTES / WEIGHT_UNIT)
            .weigher(|_key, entry: &Arc<Entry>| weight(entry.bytes))
            .build();
        CompileCache { entries, identities: moka::sync::Cache::new(1024) }
    }
}

impl CompileCache {
    pub fn key(&self, lang: &Language, source: &[u8], memory_mib: u64) -> [u8; 32] {
        let identity = self.identities.get_with(lang.id.clone(), || lang.identity());
        let mut hash = Sha256::new();
        hash.update(identity.as_bytes());
        hash.update(format!("{:?}|{:?}|{:?}|{memory_mib}|", lang.compile, lang.run, lang.env).as_bytes());
        hash.update(source);
        hash.finalize().into()
    }

    /// The cached result for `key`, or `build`'s. An `Err` from `build` is a
    /// failure of the judge's: returned to every caller waiting on this
    /// build, and not kept.
    pub fn get_or_build(
        &self,
        key: [u8; 32],
        build: impl FnOnce() -> Result<Compiled, String>,
    ) -> Result<Compiled, String> {
        self.entries
            .try_get_with(key, || {
                build().map(|compiled| {
                    let bytes = compiled.as_ref().map(|(program, _)| program.dir.used_bytes()).unwrap_or(0);
                    Arc::new(Entry { compiled, bytes })
                })
            })
            .map(|entry| entry.compiled.clone())
            .map_err(|e| e.as_ref().clone())
    }

    #[cfg(test)]
    fn len(&self) -> u64 {
        self.entries.run_pending_tasks();
        self.entries.entry_count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    fn compile_error(text: &str) -> Compiled {
        Err(CompileInfo { ok: false, output: text.into(), time_ms: 0 })
    }

    #[test]
    fn concurrent_identical_submissions_compile_once() {
        let cache = CompileCache::default();
        let builds = AtomicUsize::new(0);
        std::thread::scope(|scope| {
            for _ in 0..4 {
                scope.spawn(|| {
                    let got = cache.get_or_build([1; 32], || {
                        builds.fetch_add(1, Ordering::SeqCst);
                        std::thread::sleep(Duration::from_millis(200));
                        Ok(compile_error("x"))
                    });
                    assert_eq!(got.unwrap().unwrap_err().output, "x");
                });
            }
        });
        assert_eq!(builds.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn compile_errors_are_kept_and_judge_failures_are_not() {
        let cache = CompileCache::default();
        let builds = AtomicUsize::new(0);
        let failing = || {
            builds.fetch_add(1, Ordering::SeqCst);
            Err("mount failed".to_string())
        };
        assert_eq!(cache.get_or_build([2; 32], failing).unwrap_err(), "mount failed");
        assert!(cache.get_or_build([2; 32], || Ok(compile_error("ce"))).unwrap().is_err());
        assert_eq!(builds.load(Ordering::SeqCst), 1, "the first failure was forgotten, the retry compiled");
        let again = cache.get_or_build([2; 32], || panic!("a cached compile error must not compile again"));
        assert_eq!(again.unwrap().unwrap_err().output, "ce");
    }

    #[test]
    fn entries_are_bounded_in_number_and_weigh_their_bytes() {
        let cache = CompileCache::default();
        for i in 0..200u8 {
            let _ = cache.get_or_build([i; 32], || Ok(compile_error("e")));
        }
        assert!(cache.len() <= ENTRIES, "{} entries kept", cache.len());
        assert_eq!(weight(0), weight(BYTES / ENTRIES));
        assert_eq!(u64::from(weight(BYTES)), BYTES / WEIGHT_UNIT, "one huge program fills the cache alone");
        assert_eq!(weight(u64::MAX), u32::MAX);
    }
}
