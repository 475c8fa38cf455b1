//! Test inputs sealed in memfds, made once and shared by every run of the
//! test. The grader holds a bounded number of them: a judge serving many
//! problems would otherwise hold one descriptor per test it ever ran and run
//! out of descriptors. An evicted input's memfd closes when its last run ends.

use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;

use crate::problem::TestData;
use crate::sandbox::Input;

/// How many test inputs are kept sealed at once.
const INPUTS_HELD: u64 = 256;

/// A test file as it is on disk now: a changed or replaced file is a new key.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
struct FileKey {
    path: PathBuf,
    device: u64,
    inode: u64,
    len: u64,
    modified_ns: i64,
}

pub(crate) struct InputCache {
    held: moka::sync::Cache<FileKey, Input>,
}

impl Default for InputCache {
    fn default() -> Self {
        InputCache::holding(INPUTS_HELD)
    }
}

impl InputCache {
    fn holding(inputs: u64) -> InputCache {
        InputCache { held: moka::sync::Cache::new(inputs) }
    }

    /// The test data as a sealed input. Files are kept; inline bytes (small,
    /// and gone with their request) are sealed afresh.
    pub fn get(&self, data: &TestData) -> io::Result<Input> {
        let path = match data {
            TestData::Bytes(bytes) => return Input::from_bytes(bytes),
            TestData::File(path) => path,
        };
        let meta = std::fs::metadata(path).map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
        let key = FileKey {
            path: path.clone(),
            device: meta.dev(),
            inode: meta.ino(),
            len: meta.len(),
            modified_ns: meta.mtime().saturating_mul(1_000_000_000).saturating_add(meta.mtime_nsec()),
        };
        self.held.try_get_with(key, || Input::from_file(path)).map_err(|e| io::Error::new(e.kind(), e.to_string()))
    }

    #[cfg(test)]
    fn len(&self) -> u64 {
        self.held.run_pending_tasks();
        self.held.entry_count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn inputs_are_shared_bounded_and_follow_file_changes() {
        let dir = std::env::temp_dir().join(format!("judge-inputs-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let cache = InputCache::holding(3);
        let files: Vec<TestData> = (0..10)
            .map(|i| {
                let path = dir.join(format!("{i}.in"));
                std::fs::write(&path, format!("{i}\n")).unwrap();
                TestData::File(path)
            })
            .collect();
        for file in &files {
            assert_eq!(cache.get(file).unwrap().len(), 2);
        }
        assert!(cache.len() <= 3, "{} inputs held", cache.len());
        // A rewritten file is read again, not served stale.
        std::fs::write(dir.join("9.in"), "changed\n").unwrap();
        assert_eq!(cache.get(&files[9]).unwrap().len(), 8);
        let missing = cache.get(&TestData::File(dir.join("missing.in"))).unwrap_err();
        assert!(missing.to_string().contains("missing.in"), "{missing}");
        assert_eq!(cache.get(&TestData::Bytes(Arc::new(b"abc".to_vec()))).unwrap().len(), 3);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
