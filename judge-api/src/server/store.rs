//! The result store: every accepted submission by id, bounded in size, with
//! finished results kept for a retention time. Queued and running entries
//! are never evicted (there are at most workers + queue of them); finished
//! ones go when they expire or, oldest first, when the store is full.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use engine::grade::GradeResult;

use super::error::ApiError;

#[derive(Clone, Debug)]
pub enum State {
    Queued,
    Running {
        done: usize,
        total: usize,
    },
    Done(Arc<GradeResult>),
    /// Grading failed: the caller's mistake (4xx) or the judge's fault (5xx).
    Failed(ApiError),
}

#[derive(Clone, Debug)]
pub struct Entry {
    pub language: String,
    pub state: State,
    finished: Option<Instant>,
}

pub struct Store {
    inner: Mutex<Inner>,
    retention: Duration,
    max_entries: usize,
}

#[derive(Default)]
struct Inner {
    map: HashMap<String, Entry>,
    /// Finished ids, oldest first, with their finishing time.
    finished: VecDeque<(Instant, String)>,
}

impl Store {
    /// `max_entries` must exceed the number of submissions that can be
    /// queued or running at once, so an insert always finds room.
    pub fn new(retention: Duration, max_entries: usize) -> Store {
        Store { inner: Mutex::new(Inner::default()), retention, max_entries: max_entries.max(1) }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves consistent data behind (every
        // update is a single assignment), so a poisoned lock is still usable.
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Adds a queued submission, making room by evicting expired and then
    /// the oldest finished results.
    pub fn insert(&self, id: &str, language: &str) {
        let mut inner = self.lock();
        self.expire(&mut inner, Instant::now());
        while inner.map.len() >= self.max_entries {
            let Some((_, oldest)) = inner.finished.pop_front() else { break };
            inner.map.remove(&oldest);
        }
        inner
            .map
            .insert(id.to_string(), Entry { language: language.to_string(), state: State::Queued, finished: None });
    }

    /// Removes an entry that never got into the queue.
    pub fn remove(&self, id: &str) {
        self.lock().map.remove(id);
    }

    pub fn set_running(&self, id: &str, done: usize, total: usize) {
        if let Some(entry) = self.lock().map.get_mut(id) {
            if entry.finished.is_none() {
                entry.state = State::Running { done, total };
            }
        }
    }

    pub fn finish(&self, id: &str, state: State) {
        let now = Instant::now();
        let mut inner = self.lock();
        let Some(entry) = inner.map.get_mut(id) else { return };
        if entry.finished.is_some() {
            return;
        }
        entry.state = state;
        entry.finished = Some(now);
        inner.finished.push_back((now, id.to_string()));
    }

    /// The entry, unless unknown or expired.
    pub fn get(&self, id: &str) -> Option<Entry> {
        let mut inner = self.lock();
        self.expire(&mut inner, Instant::now());
        inner.map.get(id).cloned()
    }

    pub fn len(&self) -> usize {
        self.lock().map.len()
    }

    /// Drops expired results; called on every access and by a sweeper.
    pub fn sweep(&self) {
        let mut inner = self.lock();
        self.expire(&mut inner, Instant::now());
    }

    fn expire(&self, inner: &mut Inner, now: Instant) {
        while let Some((finished, _)) = inner.finished.front() {
            if now.duration_since(*finished) < self.retention {
                break;
            }
            let (_, id) = inner.finished.pop_front().expect("front exists");
            inner.map.remove(&id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failed() -> State {
        State::Failed(ApiError::bad_request("x"))
    }

    #[test]
    fn finished_results_expire() {
        let store = Store::new(Duration::from_millis(30), 10);
        store.insert("a", "c");
        store.insert("b", "c");
        store.finish("a", failed());
        assert!(store.get("a").is_some());
        std::thread::sleep(Duration::from_millis(40));
        assert!(store.get("a").is_none(), "expired");
        assert!(matches!(store.get("b").unwrap().state, State::Queued), "unfinished entries never expire");
    }

    #[test]
    fn a_full_store_evicts_the_oldest_finished_result() {
        let store = Store::new(Duration::from_secs(60), 3);
        store.insert("running", "c");
        store.set_running("running", 0, 1);
        store.insert("old", "c");
        store.finish("old", failed());
        store.insert("new", "c");
        store.finish("new", failed());
        store.insert("next", "c");
        assert!(store.get("old").is_none());
        assert!(store.get("new").is_some());
        assert!(matches!(store.get("running").unwrap().state, State::Running { .. }));
        assert_eq!(store.len(), 3);
    }

    #[test]
    fn progress_after_finishing_is_ignored() {
        let store = Store::new(Duration::from_secs(60), 3);
        store.insert("a", "c");
        store.finish("a", failed());
        store.set_running("a", 1, 2);
        assert!(matches!(store.get("a").unwrap().state, State::Failed(_)));
    }
}
