//! The cached-file store behind `/file` and `fileId`: compiled binaries kept
//! between a compile and its runs. In memory, bounded in bytes and in count;
//! when full the least recently used files go first, and a file nobody used
//! for the TTL expires.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Files held at most, whatever their size.
pub const MAX_FILES: usize = 10_000;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CacheError {
    #[error("file {name:?} is {size} bytes; the file cache holds at most {capacity} bytes (--file-cache-mib)")]
    TooLarge { name: String, size: u64, capacity: u64 },
}

struct Entry {
    name: String,
    data: Arc<Vec<u8>>,
    last_used: Instant,
}

struct Inner {
    files: HashMap<String, Entry>,
    bytes: u64,
}

pub struct FileCache {
    inner: Mutex<Inner>,
    capacity: u64,
    max_files: usize,
    ttl: Duration,
}

impl FileCache {
    pub fn new(capacity: u64, max_files: usize, ttl: Duration) -> FileCache {
        FileCache { inner: Mutex::new(Inner { files: HashMap::new(), bytes: 0 }), capacity, max_files, ttl }
    }

    pub fn capacity(&self) -> u64 {
        self.capacity
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        let ttl = self.ttl;
        let mut freed = 0;
        inner.files.retain(|_, entry| {
            let keep = now.duration_since(entry.last_used) < ttl;
            if !keep {
                freed += entry.data.len() as u64;
            }
            keep
        });
        inner.bytes -= freed;
        inner
    }

    /// Stores a file and returns its new id, evicting the least recently
    /// used files if it would not fit otherwise.
    pub fn insert(&self, name: &str, data: Vec<u8>) -> Result<String, CacheError> {
        let size = data.len() as u64;
        if size > self.capacity {
            return Err(CacheError::TooLarge { name: name.to_string(), size, capacity: self.capacity });
        }
        let mut inner = self.lock();
        while inner.bytes + size > self.capacity || inner.files.len() >= self.max_files {
            let Some(oldest) = inner.files.iter().min_by_key(|(_, e)| e.last_used).map(|(id, _)| id.clone()) else {
                break;
            };
            if let Some(entry) = inner.files.remove(&oldest) {
                inner.bytes -= entry.data.len() as u64;
                tracing::info!(id = %oldest, name = %entry.name, bytes = entry.data.len(), "file cache full: evicted");
            }
        }
        let id = loop {
            let id = new_id();
            if !inner.files.contains_key(&id) {
                break id;
            }
        };
        inner.bytes += size;
        let entry = Entry { name: name.to_string(), data: Arc::new(data), last_used: Instant::now() };
        inner.files.insert(id.clone(), entry);
        Ok(id)
    }

    /// The file's name and bytes; counts as a use.
    pub fn get(&self, id: &str) -> Option<(String, Arc<Vec<u8>>)> {
        let mut inner = self.lock();
        let entry = inner.files.get_mut(id)?;
        entry.last_used = Instant::now();
        Some((entry.name.clone(), entry.data.clone()))
    }

    pub fn remove(&self, id: &str) -> bool {
        let mut inner = self.lock();
        match inner.files.remove(id) {
            Some(entry) => {
                inner.bytes -= entry.data.len() as u64;
                true
            }
            None => false,
        }
    }

    /// id → name of every file.
    pub fn list(&self) -> BTreeMap<String, String> {
        self.lock().files.iter().map(|(id, e)| (id.clone(), e.name.clone())).collect()
    }

    pub fn used_bytes(&self) -> u64 {
        self.lock().bytes
    }
}

/// 16 characters of base32 from 80 random bits, like go-judge's ids.
fn new_id() -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let random = uuid::Uuid::new_v4().as_u128();
    (0..16).map(|i| ALPHABET[((random >> (i * 5)) & 31) as usize] as char).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn least_recently_used_files_are_evicted_to_fit() {
        let cache = FileCache::new(10, 100, Duration::from_secs(60));
        let a = cache.insert("a", vec![0; 4]).unwrap();
        std::thread::sleep(Duration::from_millis(2));
        let b = cache.insert("b", vec![0; 4]).unwrap();
        std::thread::sleep(Duration::from_millis(2));
        assert!(cache.get(&a).is_some()); // a is now newer than b
        let c = cache.insert("c", vec![0; 4]).unwrap();
        assert!(cache.get(&b).is_none(), "b was the least recently used");
        assert!(cache.get(&a).is_some() && cache.get(&c).is_some());
        assert_eq!(cache.used_bytes(), 8);
        assert!(matches!(cache.insert("big", vec![0; 11]), Err(CacheError::TooLarge { size: 11, .. })));
        assert!(cache.remove(&a));
        assert!(!cache.remove(&a));
        assert_eq!(cache.used_bytes(), 4);
    }

    #[test]
    fn the_count_is_bounded_and_unused_files_expire() {
        let cache = FileCache::new(1000, 2, Duration::from_millis(50));
        for name in ["a", "b", "c"] {
            cache.insert(name, vec![1]).unwrap();
        }
        assert_eq!(cache.list().len(), 2);
        std::thread::sleep(Duration::from_millis(80));
        assert!(cache.list().is_empty());
        assert_eq!(cache.used_bytes(), 0);
    }

    #[test]
    fn ids_are_16_base32_characters() {
        let id = new_id();
        assert_eq!(id.len(), 16);
        assert!(id.bytes().all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b)));
        assert_ne!(id, new_id());
    }
}
