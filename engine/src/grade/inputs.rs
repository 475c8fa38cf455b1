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
    /// and gone with their request) are sealed afresh. A file is opened beneath
    /// its package's root on every call, so one swapped for a link out after
    /// loading is refused even when an older copy is held.
    pub fn get(&self, data: &TestData) -> io::Result<Input> {
        let file = match data {
            TestData::Bytes(bytes) => return Input::from_bytes(bytes),
            TestData::File(file) => file,
        };
        let (opened, size) = file.open().map_err(io::Error::other)?;
        let meta = opened.metadata()?;
        let key = FileKey {
            path: file.path(),
            device: meta.dev(),
            inode: meta.ino(),
            len: meta.len(),
            modified_ns: meta.mtime().saturating_mul(1_000_000_000).saturating_add(meta.mtime_nsec()),
        };
        self.held
            // Read no further than the size checked at open, whatever the file does since.
            .try_get_with(key, || Input::from_reader(&mut io::Read::take(opened, size)))
            .map_err(|e| io::Error::new(e.kind(), e.to_string()))
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
    use crate::package_fs::{PackageDir, PackageLimits};
    use crate::problem::PackageFile;
    use std::sync::Arc;

    #[test]
    fn inputs_are_shared_bounded_and_follow_file_changes() {
        let temp = tempfile::tempdir().unwrap();
        let dir = temp.path();
        let package = Arc::new(PackageDir::open(dir, PackageLimits::default()).unwrap());
        let file = |name: &str| TestData::File(PackageFile { package: package.clone(), rel: name.into() });
        let cache = InputCache::holding(3);
        let files: Vec<TestData> = (0..10)
            .map(|i| {
                std::fs::write(dir.join(format!("{i}.in")), format!("{i}\n")).unwrap();
                file(&format!("{i}.in"))
            })
            .collect();
        for file in &files {
            assert_eq!(cache.get(file).unwrap().len(), 2);
        }
        assert!(cache.len() <= 3, "{} inputs held", cache.len());
        // A rewritten file is read again, not served stale.
        std::fs::write(dir.join("9.in"), "changed\n").unwrap();
        assert_eq!(cache.get(&files[9]).unwrap().len(), 8);
        let missing = cache.get(&file("missing.in")).unwrap_err();
        assert!(missing.to_string().contains("missing.in"), "{missing}");
        assert_eq!(cache.get(&TestData::Bytes(Arc::new(b"abc".to_vec()))).unwrap().len(), 3);
    }
}
